"""Which writing system a text is in, from the Unicode names of its letters."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}(?:['’-][A-Za-z\u00c0-\u024f]+)*")


@lru_cache(maxsize=8192)
def script_of(char: str) -> str | None:
    """The script of a letter (LATIN, ARABIC, ETHIOPIC, CJK, ...), None for anything else."""
    if not char.isalpha():
        return None
    name = unicodedata.name(char, "")
    if not name:
        return None
    # Unicode names start with the script ("ARABIC LETTER BEH", "ETHIOPIC SYLLABLE HA", "CJK
    # UNIFIED IDEOGRAPH-4E00"); the few letters named otherwise count under their first word.
    return name.split(" ", 1)[0]


def scripts_of(text: str) -> Counter[str]:
    return Counter(s for s in map(script_of, text) if s is not None)


def letter_count(text: str) -> int:
    return sum(1 for char in text if char.isalpha())


def script_share(text: str, scripts: Iterable[str]) -> float | None:
    """Share of the letters of `text` written in `scripts`; None for a text without letters."""
    counts = scripts_of(text)
    total = sum(counts.values())
    if not total:
        return None
    wanted = set(scripts)
    return sum(n for script, n in counts.items() if script in wanted) / total


def main_script(text: str) -> str | None:
    counts = scripts_of(text)
    return counts.most_common(1)[0][0] if counts else None
