"""Write personas to a file the loader reads back: JSONL, YAML or JSON by suffix, atomically."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from counselsynth.corpus import write_atomic
from counselsynth.errors import InputError, OutputExistsError
from counselsynth.models import Persona
from counselsynth.personas.loading import PERSONA_SUFFIXES


def persona_record(persona: Persona) -> dict[str, Any]:
    # Unset optional fields are left out, as in hand-written persona files.
    return persona.model_dump(mode="json", exclude_none=True)


def render_personas(personas: Sequence[Persona], suffix: str) -> str:
    records = [persona_record(p) for p in personas]
    if suffix == ".jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if suffix == ".json":
        return json.dumps(records, ensure_ascii=False, indent=2) + "\n"
    # libyaml's emitter when PyYAML has it: the same output, several times faster for big files.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(records, Dumper=dumper, allow_unicode=True, sort_keys=False, width=100)
    return text


def check_output(path: Path, *, overwrite: bool) -> None:
    """Refuse a suffix the loader cannot read, or an existing file, before any work is done."""
    if path.suffix not in PERSONA_SUFFIXES:
        raise InputError(f"{path}: unsupported output suffix '{path.suffix}'; use one of {', '.join(PERSONA_SUFFIXES)}")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: already exists; add --overwrite to replace it")


def write_personas(path: Path, personas: Sequence[Persona], *, overwrite: bool = False) -> None:
    check_output(path, overwrite=overwrite)
    write_atomic(path, render_personas(personas, path.suffix))
