"""Load persona files (YAML, JSON or JSONL; a file or a folder of them) into Persona models."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from counselsynth.datafiles import iter_records, problems
from counselsynth.errors import DataFileError
from counselsynth.models import Persona

PERSONA_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")


@dataclass
class PersonaSet:
    personas: list[Persona] = field(default_factory=list)
    problems: list[DataFileError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def persona_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in PERSONA_SUFFIXES and p.is_file())
        if not files:
            raise DataFileError(path, None, None, f"no persona files ({', '.join(PERSONA_SUFFIXES)}) in folder")
        return files
    if not path.exists():
        raise DataFileError(path, None, None, "file not found")
    if path.suffix not in PERSONA_SUFFIXES:
        raise DataFileError(path, None, None, f"not a persona file; expected one of {', '.join(PERSONA_SUFFIXES)}")
    return [path]


def load_personas(path: Path, frameworks: Collection[str], *, collect: bool = False) -> PersonaSet:
    """Load every persona under `path`.

    With `collect=False` the first problem raises; with `collect=True` every problem is gathered
    in `PersonaSet.problems` and only valid personas are returned (for `validate` and
    `--skip-invalid`). A file that cannot be parsed at all counts as one problem.
    """
    result = PersonaSet(files=persona_files(path))
    seen: dict[str, str] = {}
    for file in result.files:
        try:
            for record, data in iter_records(file, keep_going=collect):
                if isinstance(data, DataFileError):
                    result.problems.append(data)
                    continue
                found = _check(file, record, data, frameworks, seen)
                if isinstance(found, Persona):
                    result.personas.append(found)
                    continue
                if not collect:
                    raise found[0]
                result.problems.extend(found)
        except DataFileError as error:
            if not collect:
                raise
            result.problems.append(error)
    return result


def _check(
    file: Path, record: str, data: object, frameworks: Collection[str], seen: dict[str, str]
) -> Persona | list[DataFileError]:
    if not isinstance(data, dict):
        return [DataFileError(file, record, None, f"expected a mapping, got {type(data).__name__}")]
    try:
        persona = Persona.model_validate(data)
    except ValidationError as exc:
        return problems(exc, file, record)
    if persona.framework is not None and persona.framework not in frameworks:
        valid = ", ".join(sorted(frameworks))
        return [DataFileError(file, record, "framework", f"unknown framework '{persona.framework}'; valid: {valid}")]
    where = f"{file.name} {record}"
    if persona.id in seen:
        return [DataFileError(file, record, "id", f"duplicate persona id '{persona.id}' (first in {seen[persona.id]})")]
    seen[persona.id] = where
    return persona
