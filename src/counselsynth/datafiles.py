"""Reading data files into typed models, with errors that point at the file, record and field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from counselsynth.errors import DataFileError

M = TypeVar("M", bound=BaseModel)
DataFormat = Literal["json", "jsonl", "yaml"]
DATA_FORMATS: tuple[DataFormat, ...] = ("json", "jsonl", "yaml")


def read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataFileError(path, None, None, "file not found") from None
    except OSError as exc:
        raise DataFileError(path, None, None, f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(path, None, None, f"not UTF-8 text (bad byte at offset {exc.start})") from None
    if not text.strip():
        raise DataFileError(path, None, None, "file is empty")
    return text


def sniff_format(text: str) -> DataFormat:
    """JSON, JSONL or YAML by content: a file whose first line is a whole JSON value and which has
    more lines is JSONL; one that opens with `{` or `[` otherwise is JSON; anything else is YAML."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or lines[0].lstrip()[:1] not in ("{", "["):
        return "yaml"
    if len(lines) > 1:
        try:
            json.loads(lines[0])
        except json.JSONDecodeError:
            return "json"
        return "jsonl"
    return "json"


def _suffix_format(path: Path) -> DataFormat:
    return "jsonl" if path.suffix == ".jsonl" else "json" if path.suffix == ".json" else "yaml"


def iter_records(path: Path, data_format: DataFormat | Literal["auto"] | None = None) -> Iterator[tuple[str, Any]]:
    """Yield (record label, parsed value) for a YAML, JSON or JSONL file.

    The format is `data_format`, or found from the content with "auto", or else from the suffix.
    A YAML or JSON file holds one mapping or a list of them; a JSONL file holds one per line.
    Labels are 'line N' for JSONL and 'record N' (1-based) otherwise, as users count them.
    """
    text = read_text(path)
    kind = sniff_format(text) if data_format == "auto" else data_format or _suffix_format(path)
    if kind == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataFileError(path, f"line {number}", None, f"invalid JSON: {exc.msg}") from None
        return
    try:
        data = json.loads(text) if kind == "json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(path, f"line {exc.lineno}", None, f"invalid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DataFileError(path, where, None, f"invalid YAML: {problem}") from None
    if isinstance(data, list):
        for index, item in enumerate(data, start=1):
            yield f"record {index}", item
    else:
        yield "record 1", data


def load_one(path: Path, model: type[M]) -> M:
    """Load a file that holds exactly one record of `model`."""
    records = list(iter_records(path))
    if len(records) != 1:
        raise DataFileError(path, None, None, f"expected one {model.__name__}, found {len(records)} records")
    label, data = records[0]
    return validate(model, data, path, label)


def validate(model: type[M], data: Any, path: Path, record: str) -> M:
    if not isinstance(data, dict):
        raise DataFileError(path, record, None, f"expected a mapping, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise problems(exc, path, record)[0] from None


def problems(exc: ValidationError, path: Path, record: str) -> list[DataFileError]:
    """Every problem pydantic found, one DataFileError each."""
    found = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or None
        message = error["msg"]
        if error["type"] == "missing":
            message = "required field is missing"
        elif error["type"] == "extra_forbidden":
            message = "unknown field"
        found.append(DataFileError(path, record, field, message))
    return found
