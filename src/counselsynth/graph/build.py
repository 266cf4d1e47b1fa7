"""The case graph and its typed routers.

    plan → open_session → client_turn ⇄ counselor_turn
                          client_turn → critique ─┬→ revise → open_session        (bounded)
                                                  └→ summarize ─┬→ open_session   (next session)
                                                                └→ END
`open_session` is the counselor's first turn of a session (an opener plus a coded move). A
session ends when its phase plan is used up, not after a fixed number of turns.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from counselsynth.graph import nodes
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState, counselor_turns, planned_exchanges


def route_after_client_turn(state: CaseState) -> Literal["counselor_turn", "critique"]:
    return "counselor_turn" if counselor_turns(state) < planned_exchanges(state) else "critique"


def route_after_critique(state: CaseState, runtime: Runtime[CaseContext]) -> Literal["revise", "summarize"]:
    if state["critiques"][-1].passed or state.get("revision", 0) >= runtime.context.max_revisions:
        return "summarize"
    return "revise"


def route_after_summarize(state: CaseState, runtime: Runtime[CaseContext]) -> Literal["open_session", "__end__"]:
    return "open_session" if state["session_index"] <= runtime.context.sessions else "__end__"


def build_graph(checkpointer: Any = None) -> CompiledStateGraph[CaseState, CaseContext, CaseState, CaseState]:
    graph = StateGraph(CaseState, context_schema=CaseContext)
    graph.add_node("plan", nodes.plan)
    graph.add_node("open_session", nodes.counselor_turn)
    graph.add_node("counselor_turn", nodes.counselor_turn)
    graph.add_node("client_turn", nodes.client_turn)
    graph.add_node("critique", nodes.critique)
    graph.add_node("revise", nodes.revise)
    graph.add_node("summarize", nodes.summarize)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "open_session")
    graph.add_edge("open_session", "client_turn")
    graph.add_edge("counselor_turn", "client_turn")
    graph.add_conditional_edges("client_turn", route_after_client_turn)
    graph.add_conditional_edges("critique", route_after_critique)
    graph.add_edge("revise", "open_session")
    graph.add_conditional_edges("summarize", route_after_summarize)
    return graph.compile(checkpointer=checkpointer)
