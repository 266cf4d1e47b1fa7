"""The length gate: a reply far longer than its target is re-asked once, then kept and flagged.

Strong models read "a short turn" as 40 words. The target is part of the prompt contract ("about
N words"), and this gate enforces it at the agent level: the reply is schema-valid, so the
engine's own re-ask path (for broken replies) does not apply. The re-ask is counted in the
agent's `Usage.length_reasks`, so calls per turn stay 1 plus the counted re-asks.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

from pydantic import BaseModel, Field

from counselsynth.datafiles import load_one
from counselsynth.engines.base import Reply, Request, T
from counselsynth.graph.context import CaseContext
from counselsynth.models import LENGTH_FLAG, Strict
from counselsynth.wordcount import word_count

SETTINGS_FILE = Path(__file__).parent / "length_gate.yaml"
# A safety step, a disclosure and an answer to a safety step say what they must: they are asked
# for at least this many words, never planned as a backchannel, and never cut back by the gate.
SAFETY_MIN_WORDS = 12


class GateSettings(Strict):
    ratio: float = Field(gt=1)
    over: int = Field(ge=0)


@cache
def gate_settings() -> GateSettings:
    return load_one(SETTINGS_FILE, GateSettings)


def too_long(text: str, target: int | None) -> bool:
    if target is None:
        return False
    words = word_count(text)
    settings = gate_settings()
    return words > settings.ratio * target and words > target + settings.over


async def complete_within(ctx: CaseContext, request: Request[T], target: int | None) -> tuple[Reply[T], list[str]]:
    """The reply, after at most one length re-ask, and its flags; usage covers both calls."""
    reply = await ctx.engine.complete(request)
    if not too_long(_text(reply.parsed), target):
        return reply, []
    words = word_count(_text(reply.parsed))
    template = ctx.prompts.resolve(request.agent, "shorten", ctx.framework.id)
    instruction = ctx.prompts.render(template, {"words_said": words, "target_words": target})
    # Append-only: the long reply and the restated target follow the original prompt.
    reask = replace(
        request,
        messages=[
            *request.messages,
            {"role": "assistant", "content": reply.provenance.raw},
            {"role": "user", "content": instruction},
        ],
        context={**request.context, "reask": True},
    )
    again = await ctx.engine.complete(reask)
    usage = reply.usage.model_copy()
    usage.add(again.usage)
    usage.length_reasks += 1
    flags = [LENGTH_FLAG] if too_long(_text(again.parsed), target) else []
    return Reply(parsed=again.parsed, usage=usage, provenance=again.provenance), flags


def _text(parsed: BaseModel) -> str:
    return str(getattr(parsed, "text", ""))
