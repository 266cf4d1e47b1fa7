"""Language codes as the hub's `language:` field wants them: ISO 639-1 or 639-3, no region.

Records carry tags such as `pt-BR`; the card lists the primary subtag (`pt`). The table of valid
codes and their English names is the ISO 639 list that the `datasets` library ships for the same
purpose (datasets/utils/resources/languages.json, 185 two-letter and 7,838 three-letter codes).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from counselsynth.errors import CounselsynthError


@cache
def iso639_names() -> dict[str, str]:
    try:
        text = resources.files("datasets.utils.resources").joinpath("languages.json").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise CounselsynthError(f"the ISO 639 table of the 'datasets' package is missing: {exc}") from None
    table: dict[str, str] = json.loads(text)
    # The table also lists "code" (programming languages), which is not a natural language.
    return {code: name for code, name in table.items() if code.isalpha() and code.islower() and len(code) in (2, 3)}


def primary_subtag(tag: str) -> str:
    return tag.split("-")[0].lower()


def is_iso639(code: str) -> bool:
    return code in iso639_names()


def language_name(tag: str) -> str:
    """'es' -> 'Spanish'; an unknown code is returned as it is."""
    name = iso639_names().get(primary_subtag(tag))
    # Entries list alternative names after semicolons ("Spanish; Castilian").
    return name.split(";")[0].strip() if name else tag
