"""The loopback server's translator: a test double that answers translation requests.

It writes word salad in the target language (vocabulary.yaml), about as long as a
translation into that language would be (languages.yaml's length factor), and remembers what it
wrote, so that a back-translation request gets the exact source text back. It can corrupt its
answers on purpose, each kind aimed at one quality gate:

    script        the text is in another script (Cyrillic)
    english       the text is in the source language (English), on turns long enough to identify
    drop          the translation is empty
    annotation    the reply carries another code than the turn's
    untranslated  a run of source words is copied into the translation
    drift         the translation looks right, but its back-translation is another text

Requests are recognised by their reply schema's name (TurnTranslation, BackTranslation) and
the target language by the "Target language: Name (code)" line of the system prompt.
"""

from __future__ import annotations

import json
import random
import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from counselsynth.languages import catalogue

SCHEMAS = ("TurnTranslation", "BackTranslation")
CORRUPTIONS = ("script", "english", "drop", "annotation", "untranslated", "drift")
# The language gate identifies only turns whose source has this many letters (gates.yaml), so
# "english" is aimed at those: on a shorter turn ("Mm-hmm.") only the back-translation sample
# could catch it, by chance.
ENGLISH_MIN_LETTERS = 40
TARGET = re.compile(r"^Target language: [^\n(]*\((\w+)\)", re.MULTILINE)


@cache
def vocabulary() -> dict[str, list[str]]:
    data: dict[str, list[str]] = yaml.safe_load((Path(__file__).parent / "vocabulary.yaml").read_text(encoding="utf-8"))
    return data


class TranslationDouble:
    def __init__(self, corrupt: dict[str, float]) -> None:
        unknown = set(corrupt) - set(CORRUPTIONS)
        if unknown:
            raise ValueError(f"unknown corruptions {sorted(unknown)}; known: {', '.join(CORRUPTIONS)}")
        self.corrupt = corrupt
        self._sources: dict[str, str] = {}
        self._lock = threading.Lock()

    def reply(self, schema: str, messages: list[dict[str, Any]], rng: random.Random) -> dict[str, Any] | None:
        """The reply object, or None when the request is not one this double understands."""
        found = TARGET.search(str(messages[0].get("content", ""))) if messages else None
        payload = _last_json(messages)
        if found is None or payload is None or "text" not in payload:
            return None
        target = found.group(1)
        if schema == "BackTranslation":
            with self._lock:
                source = self._sources.get(str(payload["text"]))
            return {"text": source if source is not None else _salad(vocabulary()["en"], 40, rng)}
        if target not in vocabulary() or "turn" not in payload:
            return None
        source_text = str(payload["text"])
        text = self._translate(source_text, target, rng)
        reply = {"turn": payload["turn"], "code": payload.get("code", ""), "text": text}
        kind = self._corruption(rng)
        if kind == "english" and sum(c.isalpha() for c in source_text) < ENGLISH_MIN_LETTERS:
            kind = None
        if kind is None:
            with self._lock:
                self._sources[text] = source_text
        elif kind == "script":
            reply["text"] = self._translate(source_text, "ru", rng)
        elif kind == "english":
            reply["text"] = _salad(vocabulary()["en"], len(source_text), rng)
        elif kind == "drop":
            reply["text"] = ""
        elif kind == "annotation":
            reply["code"] = "not_" + str(reply["code"])
        elif kind == "untranslated":
            copied = " ".join(source_text.split()[:6]) or "this was left as it was"
            reply["text"] = f"{text} {copied}"
        # "drift": the text is not remembered, so its back-translation comes out as other words.
        return reply

    def _corruption(self, rng: random.Random) -> str | None:
        point = rng.random()
        cumulative = 0.0
        for kind in CORRUPTIONS:
            cumulative += self.corrupt.get(kind, 0.0)
            if point < cumulative:
                return kind
        return None

    @staticmethod
    def _translate(text: str, target: str, rng: random.Random) -> str:
        if not text.strip():
            return ""
        factor = catalogue()[target].length if target in catalogue() else 1.0
        return _salad(vocabulary()[target], max(2, round(len(text) * factor)), rng)


def _salad(words: list[str], chars: int, rng: random.Random) -> str:
    out: list[str] = []
    size = -1
    while size < chars - 3:
        word = rng.choice(words)
        out.append(word)
        size += len(word) + 1
    return " ".join(out) + "."


def _last_json(messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last user message that is a JSON object (a retry note follows the turn it is about)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        try:
            data = json.loads(str(message.get("content", "")))
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    return None
