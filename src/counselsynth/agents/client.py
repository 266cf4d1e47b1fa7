"""The client: answers in character, with a talk type drawn from the persona's stage of change."""

from __future__ import annotations

import random

from pydantic import BaseModel, Field

from counselsynth.agents.lengthgate import SAFETY_MIN_WORDS
from counselsynth.agents.requests import build_request, history_messages, recent_texts
from counselsynth.agents.safety import disclosed
from counselsynth.engines.base import Reply, Request
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState, counselor_turns, state_key
from counselsynth.models import Emotion, SafetyEvent, TalkValence, Turn, TurnAnnotations

# A client at elevated risk discloses in the first session, after this many counselor turns.
DISCLOSURE_AFTER = 2


class ClientReply(BaseModel):
    text: str = Field(min_length=1)
    valence: TalkValence
    emotion: Emotion
    emotion_intensity: int = Field(ge=1, le=5)
    safety_events: list[SafetyEvent] = Field(default_factory=list)


def request(ctx: CaseContext, state: CaseState) -> Request[ClientReply]:
    turns = state.get("turns", [])
    # The counselor's last turn, also when the client goes on after their own turn.
    last = next(t for t in reversed(turns) if t.speaker == "counselor")
    code = ctx.framework.code(last.annotations.code or "")
    done = counselor_turns(state)
    rng = random.Random(ctx.seed_for("talk", state_key(state)))
    valence = ctx.policy.talk_valence(state["stage_of_change"], code.id, rng)
    disclose = (
        ctx.persona.risk.elevated and state["session_index"] == 1 and done == DISCLOSURE_AFTER and not disclosed(turns)
    )
    talk = ctx.framework.client_code_for(valence)
    target = ctx.form.client_words(valence, random.Random(ctx.seed_for("client_length", state_key(state))))
    if disclose or code.safety_step:
        target = max(target, SAFETY_MIN_WORDS)
    return build_request(
        ctx,
        state,
        agent="client",
        purpose="turn",
        variables={
            "talk": talk,
            "disclose": disclose,
            "safety_step": code.id if code.safety_step else None,
            "target_words": target,
        },
        schema=ClientReply,
        history=history_messages(turns, own="client"),
        context={
            "valence": valence,
            "disclose": disclose,
            "safety_step": code.id if code.safety_step else None,
            "opening": None
            if done != 1 or turns[-1].speaker != "counselor"
            else ("opening" if state["session_index"] == 1 else "opening_return"),
            "recent": recent_texts(turns, "client"),
            "target_words": target,
            "position": done / max(1, sum(n for _, n in state["plan"][state["session_index"] - 1]["phases"])),
            "phq9": state["phq9"],
            "gad7": state["gad7"],
        },
    )


def turn(ctx: CaseContext, reply: Reply[ClientReply], target: int | None, flags: list[str]) -> Turn:
    parsed = reply.parsed
    return Turn(
        speaker="client",
        text=parsed.text,
        annotations=TurnAnnotations(
            talk_type=ctx.framework.client_code_for(parsed.valence).id,
            valence=parsed.valence,
            emotion=parsed.emotion,
            emotion_intensity=parsed.emotion_intensity,
            safety_events=parsed.safety_events,
            target_words=target,
            flags=flags,
        ),
        provenance=reply.provenance,
    )
