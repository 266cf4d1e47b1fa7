"""Export a finished run as a training-ready dataset with a dataset card, and publish it to the
Hugging Face hub. See `bundle` for the folder layout and `publish` for the upload.

The names below load on first use, so the CLI can read the format list and defaults for its help
without importing `datasets` and pyarrow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from counselsynth.lazy import lazy_names

if TYPE_CHECKING:
    from counselsynth.export.bundle import ExportOptions, ExportResult, export_run
    from counselsynth.export.choices import FORMATS, ExportFormat
    from counselsynth.export.splits import DEFAULT_SPLITS, SplitSpec, parse_splits

_HOMES = {
    "DEFAULT_SPLITS": "counselsynth.export.splits",
    "FORMATS": "counselsynth.export.choices",
    "ExportFormat": "counselsynth.export.choices",
    "ExportOptions": "counselsynth.export.bundle",
    "ExportResult": "counselsynth.export.bundle",
    "SplitSpec": "counselsynth.export.splits",
    "export_run": "counselsynth.export.bundle",
    "parse_splits": "counselsynth.export.splits",
}

__all__ = [
    "DEFAULT_SPLITS",
    "ExportFormat",
    "ExportOptions",
    "ExportResult",
    "FORMATS",
    "SplitSpec",
    "export_run",
    "parse_splits",
]
__getattr__, __dir__ = lazy_names(__name__, _HOMES)
