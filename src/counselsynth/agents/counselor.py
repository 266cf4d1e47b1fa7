"""The counselor: chooses a strategy code from the policy (or the safety protocol), then
asks the engine to say it."""

from __future__ import annotations

import random

from pydantic import BaseModel, Field

from counselsynth.agents.lengthgate import SAFETY_MIN_WORDS
from counselsynth.agents.requests import build_request, history_messages, recent_texts
from counselsynth.agents.safety import disclosed, missing_steps
from counselsynth.engines.base import Reply, Request
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState, counselor_turns, phase_at, planned_exchanges, state_key
from counselsynth.models import StrategyCode, Turn, TurnAnnotations

# How much a revision favours the codes behind the critic's weakest rubric items.
REVISION_BOOST = 1.8
# Rapport first: without a disclosure, the protocol starts at the counselor's third turn.
SAFETY_START_TURN = 2


class CounselorReply(BaseModel):
    text: str = Field(min_length=1, description="what the counselor says, realising the chosen code")


def choose_code(ctx: CaseContext, state: CaseState) -> StrategyCode:
    turns = state.get("turns", [])
    done = counselor_turns(state)
    # A step whose turn failed the text check is tried again, but only after the steps not yet
    # tried, so one the model keeps fumbling does not crowd out the rest of the protocol.
    tried = {t.annotations.code for t in turns if t.speaker == "counselor"}
    pending = sorted(missing_steps(ctx, turns, state["session_index"]), key=lambda step: step in tried)
    remaining = planned_exchanges(state) - done
    if pending and (disclosed(turns) or done >= SAFETY_START_TURN or remaining <= len(pending)):
        return ctx.framework.code(pending[0])
    previous = next((t.annotations.code for t in reversed(turns) if t.speaker == "counselor"), None)
    boost = None
    critiques = state.get("critiques", [])
    if state.get("revision", 0) and critiques:
        boost = {code: REVISION_BOOST for code in _focus_codes(ctx, critiques[-1].scores)}
    rng = random.Random(ctx.seed_for("policy", state_key(state)))
    return ctx.framework.code(ctx.policy.next_code(phase_at(state, done), previous, rng, boost))


def _focus_codes(ctx: CaseContext, scores: dict[str, float]) -> set[str]:
    weakest = sorted(scores, key=scores.__getitem__)[:2]
    return {code for item in ctx.framework.rubric.items if item.id in weakest for code in item.evidence_codes}


def target_words(ctx: CaseContext, state: CaseState, code: StrategyCode) -> int:
    """The turn's length in words, drawn from the real lengths of the code's class. A safety step
    must say what the protocol needs, so it gets at least the protocol's floor."""
    rng = random.Random(ctx.seed_for("counselor_length", state_key(state)))
    drawn = ctx.form.counselor_words(code.id, code.miti, rng)
    return max(drawn, SAFETY_MIN_WORDS) if code.safety_step else drawn


def request(ctx: CaseContext, state: CaseState, code: StrategyCode, target: int) -> Request[CounselorReply]:
    turns = state.get("turns", [])
    phase = ctx.framework.phases[[p.id for p in ctx.framework.phases].index(phase_at(state, counselor_turns(state)))]
    last_client = next((t for t in reversed(turns) if t.speaker == "client"), None)
    opener = None if turns else ("first" if state["session_index"] == 1 else "return")
    critiques = state.get("critiques", [])
    guidance = critiques[-1].suggested_fix if state.get("revision", 0) and critiques else None
    return build_request(
        ctx,
        state,
        agent="counselor",
        purpose="turn",
        variables={
            "phase": phase,
            "code": code,
            "opening": opener is not None,
            "guidance": guidance,
            "target_words": target,
            "resources": ctx.safety.resources_for(ctx.language),
        },
        schema=CounselorReply,
        history=history_messages(turns, own="counselor"),
        context={
            "code": code.id,
            "code_examples": code.examples,
            "target_words": target,
            "safety_step": code.safety_step,
            "recent": recent_texts(turns, "counselor"),
            "opener": opener,
            "client_emotion": last_client.annotations.emotion if last_client else None,
            "resources": ctx.safety.resources_for(ctx.language),
        },
    )


def turn(reply: Reply[CounselorReply], code: StrategyCode, state: CaseState, target: int, flags: list[str]) -> Turn:
    return Turn(
        speaker="counselor",
        text=reply.parsed.text,
        annotations=TurnAnnotations(
            code=code.id,
            phase=phase_at(state, counselor_turns(state)),
            miti=code.miti,
            safety_step=code.safety_step,
            target_words=target,
            flags=flags,
        ),
        provenance=reply.provenance,
    )
