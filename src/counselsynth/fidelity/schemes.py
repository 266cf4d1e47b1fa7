"""Comparison schemes (schemes.yaml): the classes on which code mixes are compared and fitted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import Field, model_validator

from counselsynth.datafiles import iter_records, validate
from counselsynth.models import Strict

SCHEMES_FILE = Path(__file__).parent / "schemes.yaml"
NO_MITI = "none"


class Scheme(Strict):
    framework: str
    classes: list[str] = Field(min_length=1)
    coarse: dict[str, str] = Field(default_factory=dict)
    codes: dict[str, str] = Field(default_factory=dict, description="framework/code -> class")
    miti: dict[str, str] = Field(default_factory=dict, description="MITI count (or 'none') -> class")
    realise: dict[str, dict[str, float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_classes(self) -> Scheme:
        known = set(self.classes) | set(self.coarse.values())
        unknown = sorted((set(self.codes.values()) | set(self.miti.values())) - known)
        if unknown:
            raise ValueError(f"classes not in `classes` or `coarse`: {', '.join(unknown)}")
        if set(self.coarse) - set(self.classes):
            raise ValueError("`coarse` maps names that are not in `classes`")
        if set(self.realise) - set(self.classes):
            raise ValueError("`realise` names classes that are not in `classes`")
        return self

    def class_of(self, code: str, miti: str | None) -> str | None:
        """The class of a counselor code (framework/code) with its MITI count, or None if unmapped."""
        if code in self.codes:
            return self.codes[code]
        if self.miti:
            return self.miti.get(miti or NO_MITI)
        return None

    @property
    def coarse_classes(self) -> list[str]:
        return sorted(set(self.coarse.values()), key=list(self.coarse.values()).index)


@cache
def schemes() -> dict[str, Scheme]:
    found = (validate(Scheme, data, SCHEMES_FILE, label) for label, data in iter_records(SCHEMES_FILE))
    return {scheme.framework: scheme for scheme in found}


@dataclass(frozen=True)
class ClassMap:
    """How both sides' codes map onto one level (fine or coarse) of a scheme."""

    classes: list[str]
    of_code: dict[str, str]
    coarse: bool


def class_map(scheme: Scheme, *code_tables: Mapping[str, str | None]) -> ClassMap | list[str]:
    """Map every code of every table onto the scheme; the unmapped codes if any cannot be."""
    fine: dict[str, str] = {}
    unmapped: list[str] = []
    for table in code_tables:
        for code, miti in table.items():
            mapped = scheme.class_of(code, miti)
            if mapped is None:
                unmapped.append(code)
            else:
                fine[code] = mapped
    if unmapped:
        return sorted(set(unmapped))
    if all(c in scheme.classes for c in fine.values()):
        return ClassMap(list(scheme.classes), fine, coarse=False)
    return ClassMap(scheme.coarse_classes, {code: _coarse(scheme, c) for code, c in fine.items()}, coarse=True)


def _coarse(scheme: Scheme, name: str) -> str:
    return scheme.coarse.get(name, name)
