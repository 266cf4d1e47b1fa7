"""Reading data files into typed models, with errors that point at the file, record and field.

Parsing is stricter than the libraries' defaults, because a silently different reading is worse
than a refusal: JSONL splits on "\\n" only (U+2028, U+2029 and U+0085 are text inside a JSON
string, not line breaks), a key given twice in one mapping is an error rather than "the last one
wins" (a second `risk:` must not switch the safety protocol off), and nesting deeper than any
record needs is refused before the parser recurses into a RecursionError.
"""

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
# The deepest record the project reads (a persona) nests 4 levels; 64 leaves room for any
# honest file and stays far below Python's recursion limit in the parsers.
MAX_DEPTH = 64


class _Refused(Exception):
    """A structural problem found while parsing, before it can be tied to a record label."""

    def __init__(self, problem: str, line: int | None = None, field: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.field = field
        self.record: str | None = None


class _StrictYAMLLoader(yaml.SafeLoader):
    """PyYAML's safe loader that stops at MAX_DEPTH while composing (its composer recurses)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                line = self.peek_event().start_mark.line + 1  # type: ignore[no-untyped-call]
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", line)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


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


def jsonl_lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) of every non-blank line, split on "\\n" alone."""
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield number, line.removesuffix("\r")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise _Refused("duplicate key: the mapping gives it twice", field=key)
        found[key] = value
    return found


def parse_json(text: str) -> Any:
    """json.loads that refuses duplicate keys and nesting too deep to parse."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise _Refused("nested too deeply to parse") from None


def _check_yaml_keys(node: yaml.Node) -> None:
    """Refuse a key given twice in one mapping, naming its path from the record down."""
    stack: list[tuple[yaml.Node, str]] = [(node, "")]
    visited: set[int] = set()
    while stack:
        current, prefix = stack.pop()
        if id(current) in visited:  # an alias points back at a node already checked
            continue
        visited.add(id(current))
        if isinstance(current, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in current.value:
                name = str(key.value) if isinstance(key, yaml.ScalarNode) else key.tag
                field = f"{prefix}.{name}" if prefix else name
                line = key.start_mark.line + 1
                if name in first and name != "<<":
                    raise _Refused(f"duplicate key (line {line}; first given at line {first[name]})", line, field)
                first[name] = line
                stack.append((value, field))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(
                (item, f"{prefix}.{index}" if prefix else str(index)) for index, item in enumerate(current.value)
            )


def parse_yaml(text: str) -> tuple[Any, list[str]]:
    """The YAML document and one record label per record ('record N'), checked for duplicate keys
    and depth. A top-level list holds one record per item; anything else is record 1."""
    loader = _StrictYAMLLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        records = list(node.value) if isinstance(node, yaml.SequenceNode) else [node]
        labels = [f"record {index}" for index in range(1, len(records) + 1)]
        for label, record in zip(labels, records, strict=True):
            try:
                _check_yaml_keys(record)
            except _Refused as refused:
                refused.record = label
                raise
        return loader.construct_document(node), labels
    finally:
        loader.dispose()


def _refusal(path: Path, record: str | None, refused: _Refused) -> DataFileError:
    record = refused.record or record
    if record is None and refused.line is not None:
        record = f"line {refused.line}"
    return DataFileError(path, record, refused.field, refused.problem)


def sniff_format(text: str) -> DataFormat:
    """JSON, JSONL or YAML by content: a file whose first line is a whole JSON value and which has
    more lines is JSONL; one that opens with `{` or `[` otherwise is JSON; anything else is YAML."""
    lines = [line for _, line in jsonl_lines(text)]
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


def iter_records(
    path: Path, data_format: DataFormat | Literal["auto"] | None = None, *, keep_going: bool = False
) -> Iterator[tuple[str, Any]]:
    """Yield (record label, parsed value) for a YAML, JSON or JSONL file.

    The format is `data_format`, or found from the content with "auto", or else from the suffix.
    A YAML or JSON file holds one mapping or a list of them; a JSONL file holds one per line.
    Labels are 'line N' for JSONL and 'record N' (1-based) otherwise, as users count them.
    A JSONL line that does not parse raises, or with `keep_going` is yielded as its
    DataFileError in place of the value, so a caller can report it and read on.
    """
    text = read_text(path)
    kind = sniff_format(text) if data_format == "auto" else data_format or _suffix_format(path)
    if kind == "jsonl":
        for number, line in jsonl_lines(text):
            label = f"line {number}"
            try:
                value: Any = parse_json(line)
            except json.JSONDecodeError as exc:
                value = DataFileError(path, label, None, f"invalid JSON: {exc.msg}")
            except _Refused as refused:
                value = _refusal(path, label, refused)
            if isinstance(value, DataFileError) and not keep_going:
                raise value
            yield label, value
        return
    try:
        if kind == "json":
            data = parse_json(text)
            labels = [f"record {i}" for i in range(1, len(data) + 1)] if isinstance(data, list) else ["record 1"]
        else:
            data, labels = parse_yaml(text)
    except json.JSONDecodeError as exc:
        raise DataFileError(path, f"line {exc.lineno}", None, f"invalid JSON: {exc.msg}") from None
    except _Refused as refused:
        raise _refusal(path, None, refused) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise DataFileError(path, where, None, f"invalid YAML: {problem}") from None
    if isinstance(data, list):
        yield from zip(labels, data, strict=True)
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
