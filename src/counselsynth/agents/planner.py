"""The planner: a treatment plan with a focus and a phase budget for every session."""

from __future__ import annotations

from pydantic import BaseModel, Field

from counselsynth.agents.requests import build_request
from counselsynth.engines.base import Reply, Request
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState, SessionPlan
from counselsynth.models import PhasePlan


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

    The phase plan, not a fixed turn count, decides when a session ends; a session that must
    hold the safety protocol gets room for all its steps plus rapport.
    """
    planned = reply.parsed.sessions
    plans: list[SessionPlan] = []
    for index in range(ctx.sessions):
        session = planned[min(index, len(planned) - 1)]
        asked = {p.phase: p.exchanges for p in session.phases}
        phases = [
            (p.id, min(p.exchanges[1], max(p.exchanges[0], asked.get(p.id, p.exchanges[0]))))
            for p in ctx.framework.phases
        ]
        if ctx.persona.risk.elevated:
            need = len(ctx.safety.required_steps(index + 1)) + 3
            short = need - sum(n for _, n in phases)
            if short > 0:
                last, n = phases[-1]
                phases[-1] = (last, n + short)
        plans.append({"focus": session.focus, "phases": phases})
    return plans
