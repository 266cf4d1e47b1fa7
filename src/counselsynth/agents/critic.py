"""The critic: scores a session on the framework's rubric and checks the safety protocol.

Rubric scores come from the engine (an LLM's judgement, or the offline proxy). The safety check
and the summary-statistic floors are computed here from the annotations, so no engine can talk
its way past them.
"""

from __future__ import annotations

from collections import Counter
from statistics import fmean
from typing import Any

from pydantic import BaseModel, Field, create_model

from counselsynth.agents.requests import build_request
from counselsynth.agents.safety import missing_steps, required_steps
from counselsynth.codestats import behaviour_counts, summary_scores
from counselsynth.engines.base import Reply, Request
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState
from counselsynth.models import Critique, TherapyFramework


class CriticReply(BaseModel):
    scores: BaseModel
    reasons: list[str] = Field(default_factory=list)
    suggested_fix: str | None = None


_SCHEMAS: dict[tuple[str, tuple[str, ...], tuple[int, int]], type[CriticReply]] = {}


def reply_schema(framework: TherapyFramework) -> type[CriticReply]:
    """A reply schema with one bounded score field per rubric item, so that a schema-following
    model cannot skip an item or invent one."""
    key = (framework.id, tuple(item.id for item in framework.rubric.items), framework.rubric.scale)
    if key not in _SCHEMAS:
        _SCHEMAS[key] = _build_schema(framework)
    return _SCHEMAS[key]


def _build_schema(framework: TherapyFramework) -> type[CriticReply]:
    low, high = framework.rubric.scale
    fields: dict[str, Any] = {
        item.id: (float, Field(ge=low, le=high, description=item.description)) for item in framework.rubric.items
    }
    scores = create_model(f"{framework.id.title().replace('_', '')}RubricScores", **fields)
    return create_model(
        f"{framework.id.title().replace('_', '')}CriticReply", __base__=CriticReply, scores=(scores, ...)
    )


def request(ctx: CaseContext, state: CaseState) -> Request[CriticReply]:
    turns = state["turns"]
    codes = Counter(t.annotations.code for t in turns if t.speaker == "counselor")
    return build_request(
        ctx,
        state,
        agent="critic",
        purpose="review",
        variables={
            "turns": turns,
            "rubric": ctx.framework.rubric,
            "safety_steps": required_steps(ctx, turns, state["session_index"]),
        },
        schema=reply_schema(ctx.framework),
        context={"rubric": ctx.framework.rubric, "code_counts": dict(codes)},
    )


def critique(ctx: CaseContext, state: CaseState, reply: Reply[CriticReply]) -> Critique:
    rubric = ctx.framework.rubric
    turns = state["turns"]
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
    return Critique(
        passed=passed,
        scores=scores,
        mean_score=mean,
        reasons=reasons,
        suggested_fix=reply.parsed.suggested_fix,
        safety_required=bool(required),
        safety_missing=missing,
        provenance=reply.provenance,
    )
