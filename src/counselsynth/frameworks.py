"""Therapy frameworks: load, validate and look up the YAML files in `therapy_frameworks/`.

A framework is data only. Adding `my_framework.yaml` to a folder on the search path (and,
optionally, prompt templates) makes it available with no code change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from counselsynth.datafiles import load_one
from counselsynth.errors import DataFileError, UnknownNameError
from counselsynth.models import SafetyProtocol, TherapyFramework
from counselsynth.resources import data_dir

SAFETY_PROTOCOL_FILE = Path("safety") / "protocol.yaml"


@dataclass(frozen=True)
class FrameworkCatalog:
    frameworks: dict[str, TherapyFramework]
    safety: SafetyProtocol
    hashes: dict[str, str]
    folders: tuple[Path, ...]

    def get(self, framework_id: str) -> TherapyFramework:
        try:
            return self.frameworks[framework_id]
        except KeyError:
            raise UnknownNameError("framework", framework_id, self.frameworks) from None

    @property
    def ids(self) -> list[str]:
        return sorted(self.frameworks)

    def for_problem(self, problem: str) -> TherapyFramework:
        """The framework used by `--framework auto` when a persona names none."""
        for framework_id in self.ids:
            if problem in self.frameworks[framework_id].suited_for:
                return self.frameworks[framework_id]
        return self.frameworks[self.ids[0]]


def load_framework(path: Path, safety: SafetyProtocol) -> TherapyFramework:
    framework = load_one(path, TherapyFramework)
    if framework.id != path.stem:
        raise DataFileError(path, "record 1", "id", f"must equal the file name '{path.stem}'")
    clash = sorted({c.id for c in framework.codes} & {c.id for c in safety.codes})
    if clash:
        raise DataFileError(path, "record 1", "codes", f"ids reserved for the safety protocol: {clash}")
    # The safety protocol's codes belong to every framework, so risk handling is annotated alike.
    return framework.model_copy(update={"codes": [*framework.codes, *safety.codes]})


def load_catalog(extra_folders: Sequence[Path] = ()) -> FrameworkCatalog:
    """Load the shipped frameworks plus any in `extra_folders`; a later folder wins on an id clash."""
    builtin = data_dir("therapy_frameworks")
    safety = load_one(builtin / SAFETY_PROTOCOL_FILE, SafetyProtocol)
    frameworks: dict[str, TherapyFramework] = {}
    hashes: dict[str, str] = {"safety/protocol": _sha256(builtin / SAFETY_PROTOCOL_FILE)}
    folders = (builtin, *extra_folders)
    for folder in folders:
        if not folder.is_dir():
            raise DataFileError(folder, None, None, "framework folder not found")
        for path in sorted(folder.glob("*.yaml")):
            framework = load_framework(path, safety)
            frameworks[framework.id] = framework
            hashes[framework.id] = _sha256(path)
    return FrameworkCatalog(frameworks, safety, hashes, folders)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
