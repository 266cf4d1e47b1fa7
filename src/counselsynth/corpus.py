"""A corpus on disk: `dialogues.jsonl` (one Case per line) beside `manifest.json`.

Every command reads and writes corpora through here. Lines are appended whole and fsynced, so
after a crash a case is either complete or absent; a torn last line is ignored on read.
Whole-file writes go through a temporary file and an atomic rename.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from pydantic import ValidationError

from counselsynth.datafiles import problems
from counselsynth.errors import DataFileError
from counselsynth.models import Case, RunManifest

DIALOGUES = "dialogues.jsonl"
MANIFEST = "manifest.json"


def umask_mode(directory: bool = False) -> int:
    """The permissions that open() (0666) or mkdir() (0777) give under the process's umask.

    mkstemp and mkdtemp create private files (0600) and folders (0700) whatever the umask; what
    they stage is published with the permissions a plain write would have had (0644 under 022)."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Write `path` through a temporary file that replaces it only once complete and synced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, umask_mode())
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: Path, text: str) -> None:
    with atomic_file(path) as handle:
        handle.write(text.encode("utf-8"))


def write_manifest(run_dir: Path, manifest: RunManifest) -> None:
    write_atomic(run_dir / MANIFEST, manifest.model_dump_json(indent=2) + "\n")


def read_manifest(run_dir: Path) -> RunManifest:
    path = run_dir / MANIFEST
    if not path.is_file():
        raise DataFileError(path, None, None, "no manifest: not a counselsynth run folder")
    try:
        return RunManifest.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise problems(exc, path, "record 1")[0] from None


def iter_case_lines(run_dir: Path) -> Iterator[tuple[int, str]]:
    """Complete lines of dialogues.jsonl with their 1-based numbers; a torn last line is skipped."""
    path = run_dir / DIALOGUES
    if not path.is_file():
        raise DataFileError(path, None, None, "file not found")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.endswith("\n"):
                yield number, line


def trim_torn_line(path: Path) -> None:
    """Cut a partial last line left by a crash mid-write, so appends start on a fresh line."""
    with path.open("rb+") as handle:
        end = handle.seek(0, os.SEEK_END)
        position = end
        # Walk back from the end in blocks: files can be gigabytes, the torn part is small.
        while position > 0:
            start = max(0, position - 65536)
            handle.seek(start)
            block = handle.read(position - start)
            if position == end and block.endswith(b"\n"):
                return
            newline = block.rfind(b"\n")
            if newline >= 0:
                handle.truncate(start + newline + 1)
                return
            position = start
        handle.truncate(0)


def read_cases(run_dir: Path) -> Iterator[Case]:
    path = run_dir / DIALOGUES
    for number, line in iter_case_lines(run_dir):
        try:
            yield Case.model_validate_json(line)
        except ValidationError as exc:
            raise problems(exc, path, f"line {number}")[0] from None


class CaseWriter:
    """Appends finished cases to dialogues.jsonl, one fsynced line each."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / DIALOGUES
        self._handle = self.path.open("a", encoding="utf-8")

    def write(self, line: str) -> None:
        """Append one serialised Case (see `Case.model_dump_json`)."""
        self._handle.write(line + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> CaseWriter:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def sort_cases(run_dir: Path, order: dict[str, int]) -> None:
    """Rewrite dialogues.jsonl in input order, so a run's output does not depend on which case
    happened to finish first. Only an index of offsets is held in memory, never the records."""
    path = run_dir / DIALOGUES
    index: list[tuple[int, int, int]] = []
    offset = 0
    with path.open("rb") as handle:
        for raw in handle:
            if raw.endswith(b"\n"):
                index.append((order[_case_id(raw.decode("utf-8"))], offset, len(raw)))
            offset += len(raw)
    if [rank for rank, _, _ in index] == sorted(rank for rank, _, _ in index):
        return
    index.sort()
    with path.open("rb") as source, atomic_file(path) as target:
        for _, start, length in index:
            source.seek(start)
            target.write(source.read(length))


def _case_id(line: str) -> str:
    # Case records serialise case_id first; avoid parsing a whole (large) record for it.
    prefix = '{"case_id":'
    if line.startswith(prefix):
        return str(json.JSONDecoder().raw_decode(line, len(prefix))[0])
    return str(json.loads(line)["case_id"])
