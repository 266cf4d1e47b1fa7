"""The planner: a treatment plan with a focus and a phase budget for every session."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, Field

from counselsynth.agents.requests import build_request
from counselsynth.engines.base import Reply, Request
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState, SessionPlan
from counselsynth.models import Phase, PhasePlan


class PlannedSession(BaseModel):
    focus: str
    phases: list[PhasePlan]


class PlanReply(BaseModel):
    sessions: list[PlannedSession] = Field(min_length=1)


def request(ctx: CaseContext, state: CaseState) -> Request[PlanReply]:
    return build_request(
        ctx,
        state,
        agent="planner",
        purpose="plan",
        variables={"sessions": ctx.sessions},
        schema=PlanReply,
        context={"sessions": ctx.sessions, "phases": ctx.framework.phases},
    )


def plan(ctx: CaseContext, reply: Reply[PlanReply]) -> list[SessionPlan]:
    """Fit the reply to the framework: every phase once, in order, within its range.

    A session's length (counselor turns) is drawn from the real distribution of the framework's
    turn form, for its position in the course, so sessions differ as real ones do; the reply
    only sets how that length is shared among the phases. The phase plan, not a fixed turn
    count, decides when a session ends; a session that must hold the safety protocol gets room
    for all its steps plus rapport.
    """
    planned = reply.parsed.sessions
    plans: list[SessionPlan] = []
    for index in range(ctx.sessions):
        session = planned[min(index, len(planned) - 1)]
        asked = {p.phase: p.exchanges for p in session.phases}
        rng = random.Random(ctx.seed_for("session_length", f"s{index + 1}"))
        phases = allocate(ctx.form.session_exchanges(index + 1, rng), ctx.framework.phases, asked)
        if ctx.persona.risk.elevated:
            need = len(ctx.safety.required_steps(index + 1)) + 3
            short = need - sum(n for _, n in phases)
            if short > 0:
                last, n = phases[-1]
                phases[-1] = (last, n + short)
        plans.append({"focus": session.focus, "phases": phases})
    return plans


def allocate(total: int, phases: Sequence[Phase], asked: Mapping[str, int]) -> list[tuple[str, int]]:
    """`total` counselor turns (clipped to what the ranges allow) shared among the phases in the
    proportions asked for (each clipped to its range), one turn at a time to the phase furthest
    below its share, never past its range."""
    ranges = [p.exchanges for p in phases]
    total = min(sum(hi for _, hi in ranges), max(sum(lo for lo, _ in ranges), total))
    weights = [min(hi, max(lo, asked.get(p.id, lo))) for p, (lo, hi) in zip(phases, ranges, strict=True)]
    ideal = [total * w / sum(weights) for w in weights]
    counts = [lo for lo, _ in ranges]
    for _ in range(total - sum(counts)):
        open_ = [i for i, (_, hi) in enumerate(ranges) if counts[i] < hi]
        chosen = max(open_, key=lambda i: (ideal[i] - counts[i], -i))
        counts[chosen] += 1
    return [(p.id, n) for p, n in zip(phases, counts, strict=True)]
