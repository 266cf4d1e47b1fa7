"""The state of one case as it moves through the graph, and its reducers."""

from __future__ import annotations

from typing import Annotated, TypedDict

from counselsynth.models import Critique, Session, StageOfChange, Turn, Usage


class SessionPlan(TypedDict):
    focus: str
    phases: list[tuple[str, int]]


def add_usage(left: dict[str, Usage], right: dict[str, Usage]) -> dict[str, Usage]:
    merged = {agent: usage.model_copy() for agent, usage in left.items()}
    for agent, usage in right.items():
        merged.setdefault(agent, Usage()).add(usage)
    return merged


class CaseState(TypedDict, total=False):
    plan: list[SessionPlan]
    session_index: int
    revision: int
    discarded_counselor_turns: int
    turns: list[Turn]
    critiques: list[Critique]
    sessions: list[Session]
    phq9: int
    gad7: int
    stage_of_change: StageOfChange
    summaries: list[str]
    homework: str | None
    usage: Annotated[dict[str, Usage], add_usage]


def counselor_turns(state: CaseState) -> int:
    return sum(1 for t in state.get("turns", []) if t.speaker == "counselor")


def planned_exchanges(state: CaseState) -> int:
    return sum(n for _, n in state["plan"][state["session_index"] - 1]["phases"])


def phase_at(state: CaseState, counselor_turn: int) -> str:
    """The phase that the counselor's `counselor_turn`-th turn (0-based) belongs to."""
    seen = 0
    phases = state["plan"][state["session_index"] - 1]["phases"]
    for phase, exchanges in phases:
        seen += exchanges
        if counselor_turn < seen:
            return phase
    return phases[-1][0]


def state_key(state: CaseState) -> str:
    return f"s{state.get('session_index', 0)}r{state.get('revision', 0)}t{len(state.get('turns', []))}"
