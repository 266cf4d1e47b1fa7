"""Languages: tags and their primary subtags, the ISO 639 names, and the catalogue of languages
the tool writes in (scripts, where names come from, tokenization, how a counselor addresses a
client), from languages.yaml beside this module. Generation, translation and export all take
language facts from here.

Records carry tags such as `pt-BR`; the hub's `language:` field and the catalogue use the primary
subtag (`pt`). The table of valid
codes and their English names is the ISO 639 list that the `datasets` library ships for the same
purpose (datasets/utils/resources/languages.json, 185 two-letter and 7,838 three-letter codes).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field

from counselsynth.datafiles import load_one
from counselsynth.errors import CounselsynthError, InputError, UnknownNameError
from counselsynth.strict import Strict

LANGUAGES_FILE = Path(__file__).parent / "languages.yaml"
Segmentation = Literal["words", "characters"]


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
    """'fa-IR' (or the locale 'fa_IR') -> 'fa'."""
    return tag.split("-")[0].split("_")[0].lower()


def is_iso639(code: str) -> bool:
    return code in iso639_names()


def language_name(tag: str) -> str:
    """'es' -> 'Spanish'; an unknown code is returned as it is."""
    name = iso639_names().get(primary_subtag(tag))
    # Entries list alternative names after semicolons ("Spanish; Castilian").
    return name.split(";")[0].strip() if name else tag


# -- the catalogue of languages the tool writes in ---------------------------------------------


class Language(Strict):
    name: str
    native: str
    scripts: list[str] = Field(min_length=1)
    locale: str
    segmentation: Segmentation
    length: float = Field(gt=0, description="characters per character of English for the same content")
    langid: str | None
    address: str = Field(description="how a counselor addresses a client; goes into the prompt")


class LanguageCatalogue(Strict):
    languages: dict[str, Language]


@cache
def catalogue() -> dict[str, Language]:
    return load_one(LANGUAGES_FILE, LanguageCatalogue).languages


def language(code: str) -> Language:
    found = catalogue().get(primary_subtag(code))
    if found is None:
        raise UnknownNameError("language", code, catalogue())
    return found


def check_pair(source: str, target: str) -> tuple[Language, Language]:
    if primary_subtag(source) == primary_subtag(target):
        raise InputError(f"the target language '{target}' is the source language; nothing to translate")
    return language(source), language(target)


def prompt_language(code: str) -> tuple[str, str | None]:
    """How prompts name a language ("Swahili (sw)") and how a counselor addresses a client in it.
    A language outside the catalogue is named by its code, with no address note."""
    found = catalogue().get(primary_subtag(code))
    if found is None:
        return f"the language '{code}'", None
    return f"{found.name} ({primary_subtag(code)})", None if primary_subtag(code) == "en" else found.address
