"""The critic: scores a session on the framework's rubric and checks the safety protocol.

Rubric scores come from the engine (an LLM's judgement, or the offline proxy). The safety check
and the summary-statistic floors are computed here from the annotations, so no engine can talk
its way past them.
"""

from __future__ import annotations

from collections import Counter
from statistics import fmean

from pydantic import BaseModel, Field

from counselsynth.agents.requests import build_request
from counselsynth.agents.safety import missing_steps, required_steps
from counselsynth.codestats import behaviour_counts, summary_scores
from counselsynth.engines.base import Reply, Request
from counselsynth.errors import ReplyValidationError
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState
from counselsynth.models import Critique


class CriticReply(BaseModel):
    scores: dict[str, float] = Field(description="one score per rubric item id, on the rubric's scale")
    reasons: list[str] = Field(default_factory=list)
    suggested_fix: str | None = None


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
        schema=CriticReply,
        context={"rubric": ctx.framework.rubric, "code_counts": dict(codes)},
    )


def critique(ctx: CaseContext, state: CaseState, reply: Reply[CriticReply]) -> Critique:
    rubric = ctx.framework.rubric
    turns = state["turns"]
    expected = {item.id for item in rubric.items}
    if set(reply.parsed.scores) != expected:
        raise ReplyValidationError(
            f"critic scores must cover exactly the rubric items {sorted(expected)}",
            last_reply=reply.provenance.raw,
        )
    low, high = rubric.scale
    scores = {k: min(high, max(low, v)) for k, v in reply.parsed.scores.items()}
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
