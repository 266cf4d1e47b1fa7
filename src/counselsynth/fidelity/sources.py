"""The real corpora that can be imported: citation, license note and label mappings (sources.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field

from counselsynth.datafiles import iter_records, validate
from counselsynth.errors import UnknownNameError
from counselsynth.models import Emotion, Strict, TalkValence

SOURCES_FILE = Path(__file__).parent / "sources.yaml"


class GenericCode(Strict):
    id: str
    name: str
    definition: str


class Source(Strict):
    id: str
    name: str
    framework: str
    citation: str
    license: str
    counselor_codes: dict[str, str] = Field(min_length=1)
    generic_codes: list[GenericCode] = Field(default_factory=list)
    client_codes: dict[TalkValence, str] = Field(default_factory=dict)
    unannotated_client_code: str | None = None
    emotions: dict[str, Emotion] = Field(default_factory=dict)


@cache
def sources() -> dict[str, Source]:
    return {
        source.id: source
        for source in (validate(Source, data, SOURCES_FILE, label) for label, data in iter_records(SOURCES_FILE))
    }


def source(source_id: str) -> Source:
    try:
        return sources()[source_id]
    except KeyError:
        raise UnknownNameError("source", source_id, sources()) from None
