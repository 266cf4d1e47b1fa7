"""Whether each counselor turn says what its code claims, and what a run does when it does not.

A code is chosen before its turn is written, so the label records an instruction, not a result.
After a session the critic reads every counselor turn and says whether the text performs its
code and, if not, which of the framework's codes it does perform. The safety steps that the text
can show (crisis resources, a direct risk question) are checked deterministically as well: a
turn passes only if both agree. A mismatch is handled by the run's `--on-mismatch` policy:

- `regenerate`: the session goes back for revision while the revision budget lasts, then relabel;
- `relabel`: the turn keeps its text and takes the code the critic read (`intended_code` keeps
  the one that was asked for);
- `flag`: the turn keeps its code, marked `verified: false`.

The offline engine's turns are correct by construction of its phrasebank and stay unverified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, create_model

from counselsynth.graph.context import CaseContext
from counselsynth.models import OnMismatch, TherapyFramework, Turn
from counselsynth.safety_text import performs_step

_CHECK_MODELS: dict[tuple[str, tuple[str, ...]], type[BaseModel]] = {}


class TurnVerdict(Protocol):
    performs_code: bool
    actual_code: str


def check_model(framework: TherapyFramework) -> type[BaseModel]:
    """The critic's verdict on one counselor turn; `actual_code` is limited to the framework's
    codes, so a schema-following model cannot invent one."""
    codes = tuple(code.id for code in framework.codes)
    key = (framework.id, codes)
    if key not in _CHECK_MODELS:
        one_of: Any = Literal[codes]
        _CHECK_MODELS[key] = create_model(
            f"{framework.id.title().replace('_', '')}TurnCheck",
            performs_code=(bool, Field(description="whether the turn's text performs its labelled code")),
            actual_code=(
                one_of,
                Field(description="the code the text performs (the labelled one when it does)"),
            ),
        )
    return _CHECK_MODELS[key]


@dataclass(frozen=True)
class Verification:
    turns: list[Turn]
    mismatched: list[int]  # 1-based among the counselor's turns
    action: OnMismatch | None
    notes: list[str]


def verify(ctx: CaseContext, turns: Sequence[Turn], checks: Sequence[Any], revision: int) -> Verification:
    """Set `verified` on every counselor turn the critic judged, and apply the mismatch policy."""
    if ctx.engine.offline:
        return Verification(list(turns), [], None, [])
    resources = ctx.safety.resources_for(ctx.language)
    verdicts: dict[int, tuple[bool | None, TurnVerdict | None, bool | None]] = {}
    counselor = [i for i, t in enumerate(turns) if t.speaker == "counselor"]
    for number, position in enumerate(counselor):
        turn = turns[position]
        code = turn.annotations.code
        assert code is not None
        check: TurnVerdict | None = checks[number] if number < len(checks) else None
        in_text = performs_step(code, turn.text, ctx.language, resources)
        verdict = False if in_text is False else (check.performs_code if check is not None else None)
        verdicts[position] = (verdict, check, in_text)
    mismatched = [n + 1 for n, position in enumerate(counselor) if verdicts[position][0] is False]
    action = _action(ctx, revision) if mismatched else None
    out = list(turns)
    notes = []
    for position, (verdict, check, in_text) in verdicts.items():
        turn = turns[position]
        relabel = action == "relabel" and verdict is False and check is not None
        if relabel and check is not None and check.actual_code != turn.annotations.code:
            out[position] = _relabelled(ctx.framework, turn, check.actual_code)
        else:
            out[position] = turn.annotated(turn.annotations.model_copy(update={"verified": verdict}))
        if verdict is False:
            # A verdict of False comes from the text check or, failing that, from the critic.
            read = "its text lacks what the step needs" if in_text is False or check is None else ""
            if not read and check is not None:
                read = f"reads as {check.actual_code}"
            notes.append(f"counselor turn {counselor.index(position) + 1} is coded {turn.annotations.code} but {read}")
    return Verification(out, mismatched, action, notes)


def _action(ctx: CaseContext, revision: int) -> OnMismatch:
    if ctx.on_mismatch == "regenerate":
        return "regenerate" if revision < ctx.max_revisions else "relabel"
    return ctx.on_mismatch


def _relabelled(framework: TherapyFramework, turn: Turn, actual: str) -> Turn:
    code = framework.code(actual)
    notes = turn.annotations.model_copy(
        update={
            "code": code.id,
            "miti": code.miti,
            "safety_step": code.safety_step,
            "intended_code": turn.annotations.code,
            "verified": True,
        }
    )
    return turn.annotated(notes)
