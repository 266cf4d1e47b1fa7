"""Engines answer agents' requests: the offline engine (embedded default) or an LLM engine."""

from counselsynth.engines.base import Engine, Reply, Request
from counselsynth.engines.offline import OfflineEngine

__all__ = ["Engine", "OfflineEngine", "Reply", "Request"]
