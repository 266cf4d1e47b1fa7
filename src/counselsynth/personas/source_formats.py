"""The persona formats `personas import` reads, as typed models: Patient-Psi profiles and Cactus
records (with the Cactus intake form's text layout), and reading their records from a file.

The CLI lists the format names (vocabulary.PERSONA_SOURCE_FORMATS) without loading this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from counselsynth.datafiles import iter_records, problems
from counselsynth.errors import DataFileError


class _Source(BaseModel):
    # Source formats grow fields between releases; unknown keys are ignored, missing ones are errors.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class PatientPsiProfile(_Source):
    name: str = Field(min_length=1)
    id: str = Field(min_length=1)
    type: list[str] = Field(default_factory=list)
    history: str
    helpless_belief: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("helpless_belief", "helpless_belief_current")
    )
    unlovable_belief: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("unlovable_belief", "unlovable_belief_current")
    )
    worthless_belief: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("worthless_belief", "worthless_belief_current")
    )
    intermediate_belief: str
    intermediate_belief_depression: str = ""
    coping_strategies: str = Field(min_length=1)
    situation: str = ""
    auto_thought: str = Field(min_length=1)
    emotion: list[str] = Field(default_factory=list)
    behavior: str = ""

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @field_validator("emotion", mode="before")
    @classmethod
    def _emotion_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class CactusRecord(_Source):
    intake_form: str = Field(min_length=1)
    thought: str = Field(min_length=1)
    patterns: list[str] = Field(default_factory=list)
    attitude: str = "neutral"
    cbt_technique: str | None = None
    cbt_plan: str | None = None

    @field_validator("patterns", mode="before")
    @classmethod
    def _pattern_list(cls, value: object) -> object:
        return [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value


@dataclass
class IntakeForm:
    """A Cactus intake form: 'Label: value' lines (value possibly on the next line), numbered sections."""

    fields: dict[str, str]
    sections: dict[str, str]

    LABEL = re.compile(r"^\s*([A-Za-z][A-Za-z /]*?)\s*:\s*(.*)$")
    SECTION = re.compile(r"^\s*(\d+)\.\s*([^:\n]+?)\s*(?::\s*(.*))?$")

    @classmethod
    def parse(cls, text: str) -> IntakeForm:
        fields: dict[str, str] = {}
        sections: dict[str, list[str]] = {}
        current: list[str] | None = None
        pending: str | None = None
        for line in text.splitlines():
            stripped = line.strip()
            section = cls.SECTION.match(stripped)
            if section:
                pending = None
                # Section 1, when a form numbers it, holds the "Label: value" lines.
                if section.group(1) == "1":
                    current = None
                    continue
                current = sections.setdefault(section.group(2).strip().lower(), [])
                if section.group(3):
                    current.append(section.group(3).strip())
                continue
            if current is None:
                if pending is not None and stripped:
                    fields[pending] = stripped
                    pending = None
                    continue
                label = cls.LABEL.match(stripped)
                if label:
                    key, value = label.group(1).strip().lower(), label.group(2).strip()
                    if value:
                        fields[key] = value
                    else:
                        pending = key
                continue
            if stripped:
                current.append(stripped)
        return cls(fields, {k: " ".join(v) for k, v in sections.items()})

    def section(self, prefix: str) -> str:
        return next((text for title, text in self.sections.items() if title.startswith(prefix)), "")


def read_records(path: Path, source: str) -> Iterator[tuple[str, dict[str, Any]]]:
    kind = "Patient-Psi profile" if source == "patient-psi" else "Cactus record"
    for label, data in iter_records(path):
        if not isinstance(data, dict):
            raise DataFileError(path, label, None, f"expected a {kind} (a mapping), got {type(data).__name__}")
        yield label, data


def parse_record(model: type[Any], data: dict[str, Any], path: Path, label: str, kind: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = problems(exc, path, label)[0]
        raise DataFileError(path, label, first.field, f"{first.problem} (not a {kind}?)") from None


def belief_lines(text: str) -> list[str]:
    # Patient-Psi separates beliefs by newlines and marks sections like "[during depression]".
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not (line.startswith("[") and line.endswith("]"))]
