"""The critic: scores a session on the framework's rubric, checks every counselor turn against
its code (see verification), and checks the safety protocol.

Rubric scores and turn verdicts come from the engine (an LLM's judgement, or the offline proxy,
which verifies nothing). The safety check and the summary-statistic floors are computed here
from the verified annotations and the text, so no engine can talk its way past them.
"""

from __future__ import annotations

from collections import Counter
from statistics import fmean
from typing import Any, TypeVar

from pydantic import BaseModel, Field, create_model

from counselsynth.agents.requests import build_request
from counselsynth.agents.safety import missing_steps, required_steps
from counselsynth.agents.verification import check_model, verify
from counselsynth.codestats import behaviour_counts, summary_scores
from counselsynth.engines.base import Reply, Request
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState
from counselsynth.models import Critique, TherapyFramework, Turn

R = TypeVar("R", bound=BaseModel)


class CriticReply(BaseModel):
    scores: BaseModel
    reasons: list[str] = Field(default_factory=list)
    suggested_fix: str | None = None
    turn_checks: list[Any] = Field(default_factory=list)


_SCHEMAS: dict[tuple[str, tuple[str, ...], tuple[int, int], int | None], type[CriticReply]] = {}


def reply_schema(framework: TherapyFramework, counselor_turns: int | None = None) -> type[CriticReply]:
    """A reply schema with one bounded score field per rubric item, so that a schema-following
    model cannot skip an item or invent one, and (for LLM runs) exactly one verdict per
    counselor turn."""
    rubric = framework.rubric
    key = (framework.id, tuple(item.id for item in rubric.items), rubric.scale, counselor_turns)
    if key not in _SCHEMAS:
        _SCHEMAS[key] = _build_schema(framework, counselor_turns)
    return _SCHEMAS[key]


def _build_schema(framework: TherapyFramework, counselor_turns: int | None) -> type[CriticReply]:
    low, high = framework.rubric.scale
    name = framework.id.title().replace("_", "")
    fields: dict[str, Any] = {
        item.id: (float, Field(ge=low, le=high, description=item.description)) for item in framework.rubric.items
    }
    scores = create_model(f"{name}RubricScores", **fields)
    extra: dict[str, Any] = {}
    if counselor_turns is not None:
        check = check_model(framework)
        extra["turn_checks"] = (
            list[check],  # type: ignore[valid-type]
            Field(min_length=counselor_turns, max_length=counselor_turns, description="one per counselor turn"),
        )
    suffix = "" if counselor_turns is None else f"For{counselor_turns}Turns"
    return create_model(f"{name}CriticReply{suffix}", __base__=CriticReply, scores=(scores, ...), **extra)


def request(ctx: CaseContext, state: CaseState) -> Request[CriticReply]:
    turns = state["turns"]
    verifies = not ctx.engine.offline
    counselor = sum(1 for t in turns if t.speaker == "counselor")
    return review_request(
        ctx,
        state,
        reply_schema(ctx.framework, counselor if verifies else None),
        safety_steps=required_steps(ctx, turns, state["session_index"]),
        verify_turns=verifies,
    )


def review_request(
    ctx: CaseContext, state: CaseState, schema: type[R], *, safety_steps: list[str], verify_turns: bool
) -> Request[R]:
    """The critic's review of the state's turns against the framework's rubric, with the reply
    schema of the caller (a generation session's, or an evaluation window's rubric-only one)."""
    turns = state["turns"]
    return build_request(
        ctx,
        state,
        agent="critic",
        purpose="review",
        variables={
            "turns": turns,
            "rubric": ctx.framework.rubric,
            "safety_steps": safety_steps,
            "verify_turns": verify_turns,
            "codes": ctx.framework.codes,
        },
        schema=schema,
        context={
            "rubric": ctx.framework.rubric,
            "code_counts": dict(Counter(t.annotations.code for t in turns if t.speaker == "counselor")),
        },
    )


def critique(ctx: CaseContext, state: CaseState, reply: Reply[CriticReply]) -> tuple[Critique, list[Turn]]:
    """The verdict on the session, and its turns with their verified (or relabelled) codes."""
    rubric = ctx.framework.rubric
    checked = verify(ctx, state["turns"], reply.parsed.turn_checks, state.get("revision", 0))
    turns = checked.turns
    scores: dict[str, float] = reply.parsed.scores.model_dump()
    mean = round(fmean(scores.values()), 3)
    reasons = list(reply.parsed.reasons)
    passed = mean >= rubric.pass_threshold
    if not passed:
        reasons.insert(0, f"mean rubric score {mean} is below the pass threshold {rubric.pass_threshold}")
    stats = summary_scores(behaviour_counts(turns))
    for metric, floor in rubric.summary_thresholds.items():
        value = stats[metric]
        if value is not None and value < floor:
            passed = False
            reasons.append(f"{metric} is {value:.2f}, below {floor}")
    required = required_steps(ctx, turns, state["session_index"])
    missing = missing_steps(ctx, turns, state["session_index"])
    if missing:
        passed = False
        reasons.insert(0, f"safety protocol incomplete: missing {', '.join(missing)}")
    if checked.action == "regenerate":
        passed = False
        reasons[:0] = checked.notes
    return Critique(
        passed=passed,
        scores=scores,
        mean_score=mean,
        reasons=reasons,
        suggested_fix=reply.parsed.suggested_fix,
        safety_required=bool(required),
        safety_missing=missing,
        mismatched_turns=checked.mismatched,
        mismatch_action=checked.action,
        provenance=reply.provenance,
    ), turns
