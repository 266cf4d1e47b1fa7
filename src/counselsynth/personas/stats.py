"""What a persona file holds: the mix of each field and how diverse it is.

Diversity is given two ways. For each categorical field, the normalised Shannon entropy
H / log(K), where K is the number of values the field can take (the model's vocabulary, or the
number seen for open fields such as locale): 1 means every value equally often, 0 a single value.
For the free text, the share of personas whose whole conceptualization (core beliefs,
intermediate beliefs, automatic thoughts, distortions, coping) is unique in the file, the share of
unique names, and the number of personas that repeat an earlier one apart from the id.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from counselsynth.models import Persona
from counselsynth.personas.distributions import load_distributions
from counselsynth.personas.tables import (
    CORE_BELIEF_CATEGORIES,
    DISTORTIONS,
    LEVELS,
    PROBLEMS,
    RISK_LEVELS,
    STAGE_NAMES,
    STYLES,
    Scale,
)

AGE_BANDS: tuple[tuple[int, int, str], ...] = (
    (12, 17, "12-17"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 100, "65+"),
)


@dataclass(frozen=True)
class FieldSpec:
    name: str
    vocabulary: tuple[str, ...] | None  # None: open field, K is the number of values seen
    multi: bool = False  # one count per item (core-belief categories, distortions)


@dataclass
class PersonaStats:
    count: int
    mix: dict[str, Counter[str]]
    entropy: dict[str, float]
    unique_conceptualizations: float
    unique_names: float
    repeated_personas: int
    specs: dict[str, FieldSpec] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "personas": self.count,
            "mix": {name: self.ordered(name) for name in self.mix},
            "diversity": {
                "normalised_entropy": {name: round(value, 4) for name, value in self.entropy.items()},
                "unique_conceptualizations": round(self.unique_conceptualizations, 4),
                "unique_names": round(self.unique_names, 4),
                "repeated_personas": self.repeated_personas,
            },
        }

    def ordered(self, name: str) -> dict[str, int]:
        """Counts in the vocabulary's order (then by count), so tables read the same every time."""
        counts = self.mix[name]
        vocabulary = self.specs[name].vocabulary
        if vocabulary is None:
            return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        return {value: counts[value] for value in vocabulary if counts[value]}


def _age_band(age: int) -> str:
    return next(label for low, high, label in AGE_BANDS if low <= age <= high)


def normalised_entropy(counts: Counter[str], k: int) -> float:
    total = sum(counts.values())
    if total == 0 or k <= 1:
        return 0.0
    h = -sum(c / total * math.log(c / total) for c in counts.values() if c)
    return h / math.log(k)


@cache
def canonical_genders() -> dict[str, str]:
    """Lower-cased gender label in any pool's language -> its canonical value (female, male,
    nonbinary): labels are written in the persona's language ("femenino", "زن", "mwanamke"), and
    are counted as one value."""
    pools = load_distributions().pools.values()
    return {label.lower(): key for pool in pools for key, label in pool.genders.items()}


def persona_stats(personas: Sequence[Persona]) -> PersonaStats:
    distributions = load_distributions()
    phq9: Scale = distributions.severity.scales["phq9"]
    gad7: Scale = distributions.severity.scales["gad7"]
    specs = [
        FieldSpec("problem", PROBLEMS),
        FieldSpec("phq9 band", tuple(b.id for b in phq9.bands)),
        FieldSpec("gad7 band", tuple(b.id for b in gad7.bands)),
        FieldSpec("stage of change", STAGE_NAMES),
        FieldSpec("style", STYLES),
        FieldSpec("resistance", LEVELS),
        FieldSpec("disclosure", LEVELS),
        FieldSpec("trust", LEVELS),
        FieldSpec("risk", RISK_LEVELS),
        FieldSpec("locale", None),
        FieldSpec("language", None),
        FieldSpec("gender", None),
        FieldSpec("age band", tuple(label for _, _, label in AGE_BANDS)),
        FieldSpec("core belief category", CORE_BELIEF_CATEGORIES, multi=True),
        FieldSpec("cognitive distortion", DISTORTIONS, multi=True),
    ]
    genders = canonical_genders()
    mix: dict[str, Counter[str]] = {spec.name: Counter() for spec in specs}
    concepts: Counter[str] = Counter()
    names: Counter[str] = Counter()
    contents: set[str] = set()
    repeated = 0
    for p in personas:
        values = {
            "problem": p.presenting_problem.category,
            "phq9 band": phq9.band_of(p.severity.phq9),
            "gad7 band": gad7.band_of(p.severity.gad7),
            "stage of change": p.stage_of_change,
            "style": p.style,
            "resistance": p.resistance,
            "disclosure": p.disclosure,
            "trust": p.trust,
            "risk": p.risk.level,
            "locale": p.locale or "not recorded",
            "language": p.language,
            "gender": genders.get(p.demographics.gender.lower(), p.demographics.gender),
            "age band": _age_band(p.demographics.age),
        }
        for name, value in values.items():
            mix[name][value] += 1
        c = p.conceptualization
        mix["core belief category"].update(b.category for b in c.core_beliefs)
        mix["cognitive distortion"].update(c.cognitive_distortions)
        concepts[json.dumps(c.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)] += 1
        names[p.demographics.name] += 1
        content = json.dumps(p.model_dump(mode="json", exclude={"id"}), sort_keys=True, ensure_ascii=False)
        if content in contents:
            repeated += 1
        contents.add(content)
    n = len(personas)
    entropy = {
        spec.name: normalised_entropy(mix[spec.name], len(spec.vocabulary) if spec.vocabulary else len(mix[spec.name]))
        for spec in specs
    }
    return PersonaStats(
        count=n,
        mix=mix,
        entropy=entropy,
        unique_conceptualizations=sum(1 for v in concepts.values() if v == 1) / n if n else 0.0,
        unique_names=sum(1 for v in names.values() if v == 1) / n if n else 0.0,
        repeated_personas=repeated,
        specs={spec.name: spec for spec in specs},
    )
