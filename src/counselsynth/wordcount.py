"""Words as the project counts them: in the fidelity check, the turn-form model and the length gate.

Words are runs of letters, digits and apostrophes ("don't" is one word, "mm-hmm" two; an underscore
separates words), which reproduces the word counts published for AnnoMI (counselor 16.3 and client
15.2 words per utterance in the high-quality transcripts). In scripts written without spaces
(Chinese, Japanese, Thai, ...) each character counts as one word.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[\w']+")
# Scripts written without spaces between words (kana, CJK ideographs, Thai, Lao, Myanmar, Khmer):
# there every character is a token, the usual unit of corpus statistics for these languages.
UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
# Elsewhere words are runs of letters, digits, apostrophes and the zero-width non-joiner, which
# Persian writes inside words (می‌کنم is one word).
ANY_SCRIPT_TOKEN = re.compile(f"[{UNSPACED}]|(?:(?![{UNSPACED}])[\\w'\u200c])+")
# A minimal turn ("Mm-hmm.", "Yeah.", "Go on."): real sessions have many, LLM corpora almost none.
SHORT_WORDS = 2


def _pattern(text: str) -> re.Pattern[str]:
    return WORD if text.isascii() else ANY_SCRIPT_TOKEN


def words(text: str) -> list[str]:
    # \w includes "_"; replacing it first keeps the pattern a single character class, which is fast.
    text = text.replace("_", " ")
    return _pattern(text).findall(text)


def word_count(text: str) -> int:
    return len(words(text))


def clip_words(text: str, limit: int, stop: str = ".") -> str:
    """The text up to its `limit`-th word, ended with `stop` if it was cut mid-sentence."""
    plain = text.replace("_", " ")
    spans = list(_pattern(plain).finditer(plain))
    if len(spans) <= limit:
        return text
    end = spans[limit - 1].end()
    rest = text[end:]
    # Keep the punctuation that closes the word ("okay?"), else close the sentence.
    closing = len(rest) - len(rest.lstrip(".?!。？！…"))
    return text[: end + closing] if closing else text[:end].rstrip(",;:、，") + stop
