"""The export formats and their writers. Every format carries the same conversations.

- `hf`: parquet shards `data/<split>-NNNNN-of-NNNNN.parquet` with ROW_FEATURES embedded in the
  schema, for `datasets.load_dataset` and the hub's viewer.
- `jsonl`: the same rows as JSON lines, `data/<split>.jsonl`.
- `openai`: the fine-tuning chat format, `{"messages": [...]}` per line and nothing else, since
  the fine-tuning API rejects unknown keys.
- `sharegpt`: `{"id", "conversations": [{"from": system|human|gpt, "value"}], ...}` per line, the
  layout of ShareGPT-derived sets that Axolotl and LLaMA-Factory read; the counselor is `gpt`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from datasets import Features, Value

from counselsynth.export.choices import ExportFormat
from counselsynth.export.rows import MESSAGE, ROW_FEATURES

DATA_DIR = "data"
# Rows per parquet shard and per row group. Sessions run to ~20 KB, so a row group stays near
# 10-20 MB, which the hub's viewer pages comfortably.
ROWS_PER_SHARD = 50_000
ROWS_PER_GROUP = 1_000
SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}
SHAREGPT_KEYS = ("case_id", "persona_id", "framework", "language", "session_index")

Row = dict[str, Any]


def to_openai(row: Row) -> Row:
    return {"messages": row["messages"]}


def to_sharegpt(row: Row) -> Row:
    record: Row = {
        "id": row["id"],
        "conversations": [{"from": SHAREGPT_FROM[m["role"]], "value": m["content"]} for m in row["messages"]],
    }
    record.update((key, row[key]) for key in SHAREGPT_KEYS)
    return record


def features_of(fmt: ExportFormat) -> Features:
    """The schema of one exported record in `fmt`; the card's dataset_info lists it."""
    if fmt == "openai":
        return Features({"messages": [MESSAGE]})
    if fmt == "sharegpt":
        return Features(
            {
                "id": Value("string"),
                "conversations": [{"from": Value("string"), "value": Value("string")}],
                **{key: ROW_FEATURES[key] for key in SHAREGPT_KEYS},
            }
        )
    return ROW_FEATURES


class SplitWriter(Protocol):
    files: list[str]
    # Arrow bytes of the rows written (the hub's `num_bytes`); 0 where the format is not arrow.
    nbytes: int

    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


class ParquetSplitWriter:
    """Streams one split's rows into parquet shards of ROWS_PER_SHARD rows, in row groups of
    ROWS_PER_GROUP, whatever the sizes of the tables it is given."""

    def __init__(self, root: Path, split: str, total_rows: int) -> None:
        self.root = root
        self.split = split
        self.total = total_rows
        self.shards = max(1, math.ceil(total_rows / ROWS_PER_SHARD))
        self.schema = ROW_FEATURES.arrow_schema
        self.files: list[str] = []
        self.nbytes = 0
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._in_shard = 0
        self._writer: pq.ParquetWriter | None = None

    def _open_next(self) -> pq.ParquetWriter:
        name = f"{DATA_DIR}/{self.split}-{len(self.files):05d}-of-{self.shards:05d}.parquet"
        self.files.append(name)
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return pq.ParquetWriter(path, self.schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._pending.append(table)
            self._pending_rows += table.num_rows
        while self._pending_rows >= ROWS_PER_GROUP:
            self._emit()

    def _emit(self) -> None:
        """Write one row group (or what is left), never across a shard boundary."""
        combined = pa.concat_tables(self._pending)
        take = min(ROWS_PER_GROUP, combined.num_rows, ROWS_PER_SHARD - self._in_shard)
        head = combined.slice(0, take)
        self._pending = [combined.slice(take)]
        self._pending_rows -= take
        if self._writer is None:
            self._writer = self._open_next()
        self.nbytes += head.nbytes
        self._writer.write_table(head, row_group_size=ROWS_PER_GROUP)
        self._in_shard += take
        if self._in_shard == ROWS_PER_SHARD:
            self._writer.close()
            self._writer = None
            self._in_shard = 0

    def close(self) -> None:
        while self._pending_rows:
            self._emit()
        if not self.files:
            self._writer = self._open_next()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if len(self.files) != self.shards:
            # The shard count is in every file name, so it must be known before the first row.
            raise RuntimeError(f"split '{self.split}': expected {self.total} rows in {self.shards} shards")


class JsonlSplitWriter:
    """Writes one split as JSON lines, one record per session, through `convert`."""

    def __init__(self, root: Path, split: str, convert: Callable[[Row], Row]) -> None:
        name = f"{DATA_DIR}/{split}.jsonl"
        self.files = [name]
        self.nbytes = 0
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        self._convert = convert
        self._handle: IO[str] = path.open("w", encoding="utf-8", newline="\n")

    def write(self, table: pa.Table) -> None:
        for row in table.to_pylist():
            line = json.dumps(self._convert(row), ensure_ascii=False, separators=(",", ":"))
            self._handle.write(line + "\n")

    def close(self) -> None:
        self._handle.close()


def _identity(row: Row) -> Row:
    return row


def open_writer(fmt: ExportFormat, root: Path, split: str, total_rows: int) -> SplitWriter:
    if fmt == "hf":
        return ParquetSplitWriter(root, split, total_rows)
    convert = {"jsonl": _identity, "openai": to_openai, "sharegpt": to_sharegpt}[fmt]
    return JsonlSplitWriter(root, split, convert)


def data_files_pattern(fmt: ExportFormat, split: str) -> str:
    """The glob the card's `configs` entry gives for a split."""
    return f"{DATA_DIR}/{split}-*.parquet" if fmt == "hf" else f"{DATA_DIR}/{split}.jsonl"
