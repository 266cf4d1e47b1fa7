"""Clinical coherence of valid personas, judged against the sampler's distributions.

A persona can match the schema and still hold together badly: suicide risk rated moderate with a
PHQ-9 of 3, a PHQ-9 band that the distributions give no weight for the presenting problem, a
language that is not the locale's, two personas identical but for their id, or text that looks
like someone's e-mail address, phone number or street address. These are notes,
not errors: a hand-written persona may have good reasons. `personas validate` prints them and
fails on them only with --strict.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from counselsynth.datafiles import iter_records
from counselsynth.errors import DataFileError
from counselsynth.languages import primary_subtag
from counselsynth.models import ELEVATED_RISK, Persona
from counselsynth.personas.distributions import Distributions, load_distributions
from counselsynth.personas.privacy import contact_details


@dataclass(frozen=True)
class CoherenceNote:
    path: str
    record: str | None
    field: str
    problem: str

    def __str__(self) -> str:
        where = self.path if self.record is None else f"{self.path}, {self.record}"
        return f"{where}, field '{self.field}': {self.problem}"


def locate(files: Iterable[Path]) -> dict[str, tuple[str, str]]:
    """Persona id -> (file, record label), for pointing notes at the right spot."""
    where: dict[str, tuple[str, str]] = {}
    for file in files:
        try:
            for record, data in iter_records(file, keep_going=True):
                if isinstance(data, dict) and isinstance(data.get("id"), str):
                    where.setdefault(data["id"], (str(file), record))
        except DataFileError:
            continue  # already reported by the loader
    return where


def coherence_notes(
    personas: Sequence[Persona], files: Iterable[Path], distributions: Distributions | None = None
) -> list[CoherenceNote]:
    d = distributions or load_distributions()
    where = locate(files)
    phq9_scale, gad7_scale = d.severity.scales["phq9"], d.severity.scales["gad7"]
    threshold = d.risk.min_phq9_for_elevated
    notes: list[CoherenceNote] = []
    seen: dict[str, str] = {}
    for p in personas:
        path, record = where.get(p.id, ("(unknown file)", f"id '{p.id}'"))

        def note(field: str, problem: str, path: str = path, record: str = record) -> None:
            notes.append(CoherenceNote(path, record, field, problem))

        if p.risk.level in ELEVATED_RISK and p.severity.phq9 < threshold:
            note("risk.level", f"'{p.risk.level}' risk with PHQ-9 {p.severity.phq9}, below {threshold}")
        problem = p.presenting_problem.category
        weights = d.severity.problems[problem]
        for field, score, scale, table in (
            ("severity.phq9", p.severity.phq9, phq9_scale, weights.phq9),
            ("severity.gad7", p.severity.gad7, gad7_scale, weights.gad7),
        ):
            band = scale.band_of(score)
            if table[band] == 0:
                note(field, f"{score} is in the {band} band, which severity.yaml rules out for {problem}")
        entry = d.locales.locales.get(p.locale) if p.locale else None
        if entry is not None and primary_subtag(p.language) != entry.language:
            note("language", f"'{p.language}' is not the language of locale {p.locale} ('{entry.language}')")
        for field, kind, text in contact_details(p):
            note(field, f"looks like {kind} ({text!r}); personas should hold no real contact details")
        content = json.dumps(p.model_dump(mode="json", exclude={"id"}), sort_keys=True, ensure_ascii=False)
        if content in seen:
            note("id", f"identical to persona '{seen[content]}' apart from the id")
        else:
            seen[content] = p.id
    return notes
