"""Contact details in persona text: e-mail addresses, phone numbers, street addresses.

Sampled personas never contain them (a location is a city and a country), but imported or
hand-written ones might, and whatever a persona holds can surface in generated dialogue. The
patterns are deliberately broad; `personas validate` reports each hit as a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from counselsynth.models import Persona

PATTERNS: dict[str, re.Pattern[str]] = {
    "an e-mail address": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    # Seven or more digits in one run, allowing the usual separators: not years, ages or scores.
    "a phone number": re.compile(r"(?<![\w-])\+?\d[\d ()./-]{5,}\d(?![\w-])"),
    "a street address": re.compile(
        r"\b\d{1,5}\s+(?:[A-Z][\w'-]*\s+){1,3}"
        r"(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Way|Court|Ct|Place|Pl)\b"
    ),
}


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}")


def contact_details(persona: Persona) -> list[tuple[str, str, str]]:
    """(field, kind, matched text) for every contact-like string in the persona."""
    found = []
    for field, text in _strings(persona.model_dump(mode="json", exclude_none=True), ""):
        for kind, pattern in PATTERNS.items():
            for match in pattern.finditer(text):
                digits = sum(ch.isdigit() for ch in match.group())
                if kind == "a phone number" and digits < 7:
                    continue
                found.append((field, kind, match.group()))
    return found
