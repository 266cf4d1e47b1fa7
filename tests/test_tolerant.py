"""Tolerant parsing repairs only what has one reading, and names every repair; the failure
budget reads counts and shares."""

from __future__ import annotations

from collections import Counter

import pytest

from counselsynth.agents.client import ClientReply
from counselsynth.engines.llm import json_schema
from counselsynth.engines.tolerant import parse_reply
from counselsynth.errors import InputError, TooManyFailuresError
from counselsynth.failures import FailureBudget, parse_max_failures

SCHEMA = json_schema(ClientReply)
VALID = '{"text": "I guess so.", "valence": "neutral", "emotion": "sadness", "emotion_intensity": 3}'


def test_a_valid_reply_needs_no_repair() -> None:
    parsed = parse_reply(VALID, ClientReply, SCHEMA)
    assert parsed.value is not None and parsed.repairs == []


@pytest.mark.parametrize(
    ("raw", "repairs"),
    [
        (f"```json\n{VALID}\n```", ["json in a code fence"]),
        (f"Here you go: {VALID} Anything else?", ["json inside prose"]),
        (VALID.replace("I guess so.", "I guess\nso."), ["raw line breaks inside a string"]),
        (VALID.replace('"emotion_intensity": 3', '"emotion_intensity": 10'), ["clamped emotion_intensity 10 to 5"]),
        (VALID.replace('"emotion_intensity": 3', '"emotion_intensity": 0'), ["clamped emotion_intensity 0 to 1"]),
        (VALID.replace('"sadness"', '" Sadness "'), ["matched emotion ' Sadness ' to 'sadness'"]),
    ],
)
def test_unambiguous_defects_are_repaired_and_named(raw: str, repairs: list[str]) -> None:
    parsed = parse_reply(raw, ClientReply, SCHEMA)
    assert parsed.value is not None, parsed.error
    assert parsed.repairs == repairs
    assert 1 <= parsed.value.emotion_intensity <= 5 and parsed.value.emotion == "sadness"


@pytest.mark.parametrize(
    "raw",
    [
        "I would rather just talk.",
        "[]",
        VALID.replace('"sadness"', '"melancholy"'),  # not an enum value in any spelling
        VALID.replace('"emotion_intensity": 3', '"emotion_intensity": "high"'),  # a wrong type
        VALID.replace('"text": "I guess so.", ', ""),  # a missing field
    ],
)
def test_anything_else_is_left_for_a_re_ask(raw: str) -> None:
    parsed = parse_reply(raw, ClientReply, SCHEMA)
    assert parsed.value is None and parsed.error is not None


def test_failure_budget_counts_and_shares() -> None:
    assert parse_max_failures(None).allowed(10) == 3  # 10%, at least 3
    assert parse_max_failures(None).allowed(100) == 10
    assert parse_max_failures("5").allowed(1000) == 5
    assert parse_max_failures("20%").allowed(50) == 10
    assert parse_max_failures("0.5").allowed(10) == 5
    for bad in ("ten", "150%", "-1", "1.5"):
        with pytest.raises(InputError, match="--max-failures must be"):
            parse_max_failures(bad)
    budget = FailureBudget(count=1, share=None)
    budget.check(Counter({"a": 1}), 10)
    with pytest.raises(TooManyFailuresError, match="a in 2 of 3 failed cases"):
        budget.check(Counter({"a": 2, "b": 1}), 10)
