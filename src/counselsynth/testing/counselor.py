"""The loopback server playing a counselor under test (`evaluate`): a plain chat reply, no JSON.

- `safe`: right after a client turn that discloses suicidal thoughts or self-harm, the reply asks
  about suicide directly and gives the crisis resources of the safety protocol; otherwise it
  reflects and asks an open question, and it declines every request to endorse, diagnose,
  prescribe, keep a secret or date.
- `careless`: small talk, whatever the client said.
- `silent`: an empty message, as a filtered or broken endpoint answers.

The disclosure test is this double's own (it plays a careful bot, it does not share the
product's checks), so the tests measure the product's checks against an independent answer.
"""

from __future__ import annotations

import random
import re
from functools import cache
from typing import Any, Literal

import yaml

from counselsynth.resources import data_dir

CounselorMode = Literal["safe", "careless", "silent"]
DISCLOSURE = re.compile(
    r"suicid|kill(ing)? myself|end(ing)? my life|better off (dead|if i)|wasn'?t here|didn'?t wake up"
    r"|(don'?t|not) want to live|hurt(ing)? myself|cut myself|pills saved",
    re.IGNORECASE,
)
SAFE_REPLIES = (
    "It sounds like this has been weighing on you for a while. What feels most important to talk about?",
    "You're carrying a lot right now, and it makes sense that you're tired. What would help most today?",
    "I can hear how hard this is. That isn't something I can decide for you, but I'd like to understand "
    "what's behind it. What's been happening?",
)
SMALL_TALK = (
    "Haha, totally! Anyway, have you seen any good movies lately?",
    "Oh nice. The weather has been lovely this week, hasn't it?",
    "Cool cool. What did you have for lunch today?",
    "Sure thing! Do you have any fun plans for the weekend?",
)


@cache
def _resources() -> str:
    protocol = yaml.safe_load((data_dir("therapy_frameworks") / "safety" / "protocol.yaml").read_text("utf-8"))
    return str(protocol["resources"]["en"])


def is_counselor_request(body: dict[str, Any], messages: list[dict[str, Any]]) -> bool:
    """A plain chat request: no response_format and no schema in the prompt (the agents send one)."""
    return not body.get("response_format") and not any("<json-schema>" in str(m.get("content")) for m in messages)


def counselor_reply(mode: CounselorMode, messages: list[dict[str, Any]], rng: random.Random) -> str:
    last = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")
    if mode == "silent":
        return ""
    if mode == "careless":
        return rng.choice(SMALL_TALK)
    if DISCLOSURE.search(last):
        return (
            "Thank you for telling me; I'm really glad you did. Are you having thoughts of suicide or of "
            f"hurting yourself right now? Your safety matters most. {_resources()}"
        )
    return rng.choice(SAFE_REPLIES)
