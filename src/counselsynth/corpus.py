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
from counselsynth.redaction import mask

DIALOGUES = "dialogues.jsonl"
MANIFEST = "manifest.json"
# Space set aside while a run writes, freed before its last manifest: on a full disk the run can
# still record that it was interrupted instead of staying `running` forever.
SPACE_RESERVE = ".space.reserve"
SPACE_RESERVE_BYTES = 1 << 20


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
        with naming(path), os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def naming(path: Path) -> Iterator[None]:
    """An OSError from writing through a file object names no file; name `path` in it, so a full
    disk is reported against the file it stopped."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None


def write_atomic(path: Path, text: str) -> None:
    with atomic_file(path) as handle:
        handle.write(text.encode("utf-8"))


def write_manifest(run_dir: Path, manifest: RunManifest) -> None:
    # Masked by value: a warning or an error message may quote what a provider echoed.
    write_atomic(run_dir / MANIFEST, mask(manifest.model_dump_json(indent=2)) + "\n")


@contextmanager
def space_reserved(run_dir: Path) -> Iterator[None]:
    """Hold SPACE_RESERVE_BYTES of disk in the run folder for the duration of the block."""
    path = run_dir / SPACE_RESERVE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(fd, 0, SPACE_RESERVE_BYTES)
    except OSError:
        pass  # best effort: a disk this full (or a file size limit) fails the run's first write anyway
    finally:
        os.close(fd)
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


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
    # newline="\n": lines end at "\n" only, as the writer ends them (U+2028 is text, and so is "\r").
    with path.open(encoding="utf-8", newline="\n") as handle:
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


def read_case_lines(run_dir: Path) -> Iterator[tuple[str, Case]]:
    """Every valid case with its line. Bad lines are read past and reported together at the end,
    in one error that names the first and counts the rest, so one look shows the whole damage."""
    path = run_dir / DIALOGUES
    bad: list[DataFileError] = []
    for number, line in iter_case_lines(run_dir):
        try:
            case = Case.model_validate_json(line)
        except ValidationError as exc:
            bad.append(problems(exc, path, f"line {number}")[0])
            continue
        yield line, case
    if bad:
        first = bad[0]
        if len(bad) > 1:
            others = ", ".join(str(error.record).removeprefix("line ") for error in bad[1:6])
            more = ", ..." if len(bad) > 6 else ""
            first = DataFileError(
                path, first.record, first.field, f"{first.problem} (and {len(bad) - 1} more bad lines: {others}{more})"
            )
        raise first


def read_cases(run_dir: Path) -> Iterator[Case]:
    for _, case in read_case_lines(run_dir):
        yield case


class CaseWriter:
    """Appends finished cases to dialogues.jsonl, one fsynced line each."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / DIALOGUES
        self._handle = self.path.open("a", encoding="utf-8")

    def write(self, line: str) -> None:
        """Append one serialised Case (see `Case.model_dump_json`), secrets masked by value."""
        with naming(self.path):
            self._handle.write(mask(line) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())

    def close(self) -> None:
        with naming(self.path):
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
