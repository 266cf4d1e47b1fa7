"""The case graph and its typed routers.

    plan → exchange ⟲ (until the session's phase plan is used up)
           exchange → critique ─┬→ revise → exchange          (bounded)
                                └→ summarize ─┬→ exchange     (next session)
                                              └→ END
An exchange is a counselor turn and the client's answer; the first of a session opens it (an
opener plus a coded move). A session ends when its phase plan is used up, not after a fixed
number of turns.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from counselsynth.graph import nodes
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState, counselor_turns, planned_exchanges

# Part of every checkpoint's thread id. Raise it when nodes or state change shape: a run folder
# checkpointed by an older graph then restarts its half-done cases instead of resuming them into
# nodes that no longer exist, and the response cache answers the calls they had already made.
GRAPH_REVISION = 3


def route_after_exchange(state: CaseState) -> Literal["exchange", "critique"]:
    return "exchange" if counselor_turns(state) < planned_exchanges(state) else "critique"


def route_after_critique(state: CaseState, runtime: Runtime[CaseContext]) -> Literal["revise", "summarize"]:
    if state["critiques"][-1].passed or state.get("revision", 0) >= runtime.context.max_revisions:
        return "summarize"
    return "revise"


def route_after_summarize(state: CaseState, runtime: Runtime[CaseContext]) -> Literal["exchange", "__end__"]:
    return "exchange" if state["session_index"] <= runtime.context.sessions else "__end__"


def build_graph(checkpointer: Any = None) -> CompiledStateGraph[CaseState, CaseContext, CaseState, CaseState]:
    graph = StateGraph(CaseState, context_schema=CaseContext)
    graph.add_node("plan", nodes.plan)
    graph.add_node("exchange", nodes.exchange)
    graph.add_node("critique", nodes.critique)
    graph.add_node("revise", nodes.revise)
    graph.add_node("summarize", nodes.summarize)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "exchange")
    graph.add_conditional_edges("exchange", route_after_exchange)
    graph.add_conditional_edges("critique", route_after_critique)
    graph.add_edge("revise", "exchange")
    graph.add_conditional_edges("summarize", route_after_summarize)
    return graph.compile(checkpointer=checkpointer)
