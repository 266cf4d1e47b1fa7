"""The persona sampler's distributions and text pools: data files under personas/distributions/.

Each file documents its source in a `source` field. They become typed models here, with the
cross-checks a typo would otherwise slip past (a problem missing from a table, a band that does
not exist, elevated risk allowed below the PHQ-9 threshold). The example-persona loader reads only
the files directly inside personas/, so this sub-folder is never mistaken for personas.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from counselsynth.datafiles import load_one
from counselsynth.errors import DataFileError
from counselsynth.languages import primary_subtag
from counselsynth.personas.pools import FallbackNames, LocaleCatalogue, TextPool
from counselsynth.personas.tables import (
    MIX_TOLERANCE,
    PROBLEMS,
    ConceptualizationTable,
    DemographicsTable,
    EngagementTable,
    ImportMappings,
    ProblemMix,
    RiskTable,
    SeverityTable,
)
from counselsynth.resources import data_dir

# -- the whole set --------------------------------------------------------------------------------

POOLS_FOLDER = "pools"


@dataclass(frozen=True)
class Distributions:
    mix: ProblemMix
    severity: SeverityTable
    risk: RiskTable
    conceptualization: ConceptualizationTable
    engagement: EngagementTable
    demographics: DemographicsTable
    locales: LocaleCatalogue
    fallback_names: FallbackNames
    pools: dict[str, TextPool]
    imports: ImportMappings
    folder: Path
    digest: str

    def pool_for(self, language: str) -> TextPool:
        """The text pool of `language`, or English when there is none (see pool_language)."""
        return self.pools[self.pool_language(language)]

    def pool_language(self, language: str) -> str:
        primary = primary_subtag(language)
        return primary if primary in self.pools else "en"


def default_folder() -> Path:
    return data_dir("personas") / "distributions"


@cache
def _load_cached(folder: Path) -> Distributions:
    return _load(folder)


def load_distributions(folder: Path | None = None) -> Distributions:
    """Load and cross-check every distribution file in `folder` (default: the shipped one)."""
    return _load_cached((folder or default_folder()).resolve())


def _load(folder: Path) -> Distributions:
    if not folder.is_dir():
        raise DataFileError(folder, None, None, "distributions folder not found")
    mix = load_one(folder / "problem_mix.yaml", ProblemMix)
    check_mix(mix, folder / "problem_mix.yaml", frozenset())
    severity = load_one(folder / "severity.yaml", SeverityTable)
    risk = load_one(folder / "risk.yaml", RiskTable)
    try:
        risk.check_bands(severity.scales["phq9"])
    except ValueError as exc:
        raise DataFileError(folder / "risk.yaml", "record 1", "by_phq9_band", str(exc)) from None
    pools: dict[str, TextPool] = {}
    for path in sorted((folder / POOLS_FOLDER).glob("*.yaml")):
        pool = load_one(path, TextPool)
        if pool.language != path.stem:
            raise DataFileError(path, "record 1", "language", f"must equal the file name '{path.stem}'")
        pools[pool.language] = pool
    if "en" not in pools:
        raise DataFileError(folder / POOLS_FOLDER, None, None, "an English pool (en.yaml) is required")
    conceptualization = load_one(folder / "conceptualization.yaml", ConceptualizationTable)
    _check_pool_sizes(pools, conceptualization, folder)
    locales = load_one(folder / "locales.yaml", LocaleCatalogue)
    fallback = load_one(folder / "fallback_names.yaml", FallbackNames)
    unknown = sorted(set(fallback.tables) - set(locales.locales))
    if unknown:
        raise DataFileError(
            folder / "fallback_names.yaml", "record 1", "tables", f"locales not in locales.yaml: {unknown}"
        )
    files = sorted(p for p in folder.rglob("*.yaml"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
    return Distributions(
        mix=mix,
        severity=severity,
        risk=risk,
        conceptualization=conceptualization,
        engagement=load_one(folder / "engagement.yaml", EngagementTable),
        demographics=load_one(folder / "demographics.yaml", DemographicsTable),
        locales=locales,
        fallback_names=fallback,
        pools=pools,
        imports=load_one(folder / "import_mappings.yaml", ImportMappings),
        folder=folder,
        digest=digest,
    )


def _check_pool_sizes(pools: Mapping[str, TextPool], table: ConceptualizationTable, folder: Path) -> None:
    """Each pool must hold enough distinct items for the largest count the sampler may ask for."""
    need = {field: max(weights) for field, weights in table.counts.items()}
    for language, pool in pools.items():
        path = folder / POOLS_FOLDER / f"{language}.yaml"
        for problem, texts in pool.problems.items():
            lists: dict[str, list[str]] = {
                "automatic_thoughts": texts.automatic_thoughts,
                "coping_strategies": texts.coping_strategies,
                "goals": texts.goals,
            }
            for field, items in lists.items():
                if len(set(items)) < need[field]:
                    where = f"problems.{problem}.{field}"
                    raise DataFileError(path, "record 1", where, f"needs at least {need[field]} distinct items")
        total = sum(len(set(v)) for v in pool.intermediate_beliefs.values())
        if total < need["intermediate_beliefs"]:
            raise DataFileError(path, "record 1", "intermediate_beliefs", "too few items for the counts")


def check_mix(mix: ProblemMix, path: Path, locales: frozenset[str]) -> None:
    """A mix names only known problems (and, if given, known locales) with proportions adding up to 1."""
    for field, proportions, valid in (("problems", mix.problems, PROBLEMS), ("locales", mix.locales, locales)):
        if proportions is None:
            continue
        if field == "locales" and not locales:
            continue
        if not proportions:
            raise DataFileError(path, "record 1", field, "is empty")
        for key, value in proportions.items():
            if key not in valid:
                kind = "problem" if field == "problems" else "locale"
                raise DataFileError(
                    path, "record 1", f"{field}.{key}", f"unknown {kind}; valid: {', '.join(sorted(valid))}"
                )
            if not value >= 0:
                raise DataFileError(
                    path, "record 1", f"{field}.{key}", f"proportion must be between 0 and 1, got {value}"
                )
        total = sum(proportions.values())
        if abs(total - 1.0) > MIX_TOLERANCE:
            raise DataFileError(
                path, "record 1", field, f"proportions add up to {total:.4g}, not 1 (tolerance {MIX_TOLERANCE})"
            )
