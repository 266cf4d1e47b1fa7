"""The fidelity report of a run, when it has one, and the citation of the real data it compares to.

`counselsynth fidelity RUN_DIR --out RUN_DIR/fidelity` writes `fidelity.json` with `overall`
(pass/fail) and `metrics` ({name, axis, value, band: [lo, hi], verdict: pass|fail|n/a, note}).
Only those keys are read, and other keys are ignored: the report is another command's output that
may gain fields, like the record contract. A report whose keys that are read are malformed is an
error, not a silently empty section.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from counselsynth.datafiles import iter_records, load_one, validate
from counselsynth.models import Strict

FIDELITY_REPORT = Path("fidelity") / "fidelity.json"
REFERENCES_FILE = Path(__file__).parent / "references.yaml"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class FidelityMetric(_Lenient):
    name: str
    axis: str
    value: float | None = None
    band: tuple[float | None, float | None] | None = None
    verdict: Literal["pass", "fail", "n/a"]
    note: str | None = None


class ReferenceNote(_Lenient):
    # Profiles cite their source as {corpus, citation, license} (counselsynth.fidelity.profile).
    name: str = Field(validation_alias=AliasChoices("name", "corpus", "id"))
    citation: str | None = None
    license: str | None = None


class FidelityReport(_Lenient):
    overall: Literal["pass", "fail"]
    metrics: list[FidelityMetric]
    reference: str | ReferenceNote | None = None
    scope: str | None = None
    warnings: list[str] = Field(default_factory=list)

    @property
    def reference_name(self) -> str | None:
        return self.reference.name if isinstance(self.reference, ReferenceNote) else self.reference


class ReferenceCorpus(Strict):
    id: str
    name: str
    match: list[str]
    license: str
    citation: str


class Citation(Strict):
    name: str
    citation: str
    license: str | None


def read_fidelity(run_dir: Path) -> FidelityReport | None:
    path = run_dir / FIDELITY_REPORT
    return load_one(path, FidelityReport) if path.is_file() else None


@cache
def reference_corpora() -> tuple[ReferenceCorpus, ...]:
    records = iter_records(REFERENCES_FILE)
    return tuple(validate(ReferenceCorpus, data, REFERENCES_FILE, label) for label, data in records)


def citations(report: FidelityReport | None) -> list[Citation]:
    """The reference data a fidelity report used, with citation; empty without a report."""
    if report is None or report.reference is None:
        return []
    name = report.reference_name or ""
    own = report.reference if isinstance(report.reference, ReferenceNote) else None
    known = next(
        (c for c in reference_corpora() if any(name.lower().startswith(prefix) for prefix in c.match)),
        None,
    )
    if own is not None and own.citation:
        return [Citation(name=own.name, citation=own.citation, license=own.license)]
    if known is not None:
        return [Citation(name=f"{known.name} (reference '{name}')", citation=known.citation, license=known.license)]
    return [Citation(name=name, citation="The fidelity report names no citation for this reference.", license=None)]
