"""The settings of a generation run and their defaults: the one place a default is written.

The run-config file and the command-line flags leave a setting unset (None) unless it is given;
`RunConfig.run_settings` fills what is unset from here, and the CLI's help shows these defaults.
Kept free of heavy imports so that `--help` can read it.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from counselsynth.vocabulary import OnMismatch

AUTO = "auto"


@dataclass(frozen=True)
class RunSettings:
    out_dir: Path
    framework: str = AUTO
    sessions: int = 2
    seed: int = 0
    limit: int | None = None
    max_revisions: int = 2
    on_mismatch: OnMismatch = "regenerate"  # a counselor turn that does not perform its code: regenerate|relabel|flag
    concurrency: int = 8
    workers: int = 0  # 0: one per core for the offline engine
    shard: tuple[int, int] | None = None  # (i, n): this machine's share of the personas
    resume: bool = False  # require an existing run to continue
    language: str | None = None  # native generation in this language, with localized personas
    each_framework: bool = False  # one case per persona and framework (of the list, or every one)


def default_of(name: str) -> Any:
    """The default of one RunSettings field, for help texts."""
    (found,) = (f for f in fields(RunSettings) if f.name == name)
    if found.default is MISSING:
        raise KeyError(f"RunSettings.{name} has no default")
    return found.default
