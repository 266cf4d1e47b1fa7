"""Export a finished run as a training-ready dataset with a dataset card, and publish it to the
Hugging Face hub. See `bundle` for the folder layout and `publish` for the upload."""

from counselsynth.export.bundle import ExportOptions, ExportResult, export_run
from counselsynth.export.formats import FORMATS, ExportFormat
from counselsynth.export.splits import DEFAULT_SPLITS, SplitSpec, parse_splits

__all__ = [
    "DEFAULT_SPLITS",
    "FORMATS",
    "ExportFormat",
    "ExportOptions",
    "ExportResult",
    "SplitSpec",
    "export_run",
    "parse_splits",
]
