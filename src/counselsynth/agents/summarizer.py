"""The summarizer: closes a session into memory (summary, homework, symptom and stage changes)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from counselsynth.agents.requests import build_request
from counselsynth.engines.base import Reply, Request
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState
from counselsynth.models import SessionSummary, StageOfChange


class SummaryReply(BaseModel):
    summary: str = Field(min_length=1)
    homework: str | None
    phq9: int = Field(ge=0, le=27)
    gad7: int = Field(ge=0, le=21)
    stage_of_change: StageOfChange


def request(ctx: CaseContext, state: CaseState) -> Request[SummaryReply]:
    client = [t for t in state["turns"] if t.speaker == "client"]
    share = {v: sum(t.annotations.valence == v for t in client) / max(1, len(client)) for v in ("change", "sustain")}
    return build_request(
        ctx,
        state,
        agent="summarizer",
        purpose="summary",
        variables={"turns": state["turns"]},
        schema=SummaryReply,
        context={
            "change_share": share["change"],
            "sustain_share": share["sustain"],
            "phq9": state["phq9"],
            "gad7": state["gad7"],
            "stage_of_change": state["stage_of_change"],
            "homework_expected": ctx.framework.homework,
        },
    )


def summary(ctx: CaseContext, reply: Reply[SummaryReply]) -> SessionSummary:
    parsed = reply.parsed
    homework = parsed.homework if ctx.framework.homework else None
    return SessionSummary(
        summary=parsed.summary,
        homework=homework,
        phq9=parsed.phq9,
        gad7=parsed.gad7,
        stage_of_change=parsed.stage_of_change,
        provenance=reply.provenance,
    )
