"""What an export can be asked for: the formats and the default license. Kept apart from the
writers so that the CLI's help can list them without importing `datasets` and pyarrow."""

from __future__ import annotations

from typing import Literal, get_args

ExportFormat = Literal["hf", "sharegpt", "openai", "jsonl"]
FORMATS: tuple[str, ...] = get_args(ExportFormat)
DEFAULT_LICENSE = "cc-by-4.0"
