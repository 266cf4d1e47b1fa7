"""The LangGraph pipeline: one compiled graph, one run per case."""

from counselsynth.graph.build import build_graph
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState

__all__ = ["CaseContext", "CaseState", "build_graph"]
