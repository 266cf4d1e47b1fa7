"""The persona sampler: a generative model of clinically coherent clients, driven by data files.

One persona is drawn in this order, each step conditioned on the ones before it:

    locale, presenting problem (the mix)
    gender, age, life stage and occupation, relationship status   (demographics.yaml)
    PHQ-9 and GAD-7 within the problem's clinical bands, correlated   (severity.yaml)
    risk level given the PHQ-9 band; elevated only from PHQ-9 10   (risk.yaml)
    core beliefs by category, then intermediate beliefs of those categories, automatic thoughts,
        distortions, coping and goals for the problem   (conceptualization.yaml, pools/)
    stage of change given the problem; style; resistance given stage and style;
        disclosure given style; trust given resistance   (engagement.yaml)
    name and city from the locale   (names.py)

Persona i of a run draws from its own random stream, seeded by (seed, i): the same seed gives the
same personas whatever n is, so `-n 10` is the first ten of `-n 1000`. Ids are
`syn-<locale>-s<seed>-<i>`: unique in a run, and across runs that differ in seed or locale.
Free text comes from the pool of the locale's language, or the English pool when there is none:
the persona's `language` stays the client's language (what the dialogue is written in), and the
profile reads like English case notes about, say, an Amharic-speaking client.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from counselsynth.datafiles import load_one
from counselsynth.errors import InputError
from counselsynth.languages import primary_subtag
from counselsynth.models import Persona
from counselsynth.personas.distributions import Distributions, check_mix, load_distributions
from counselsynth.personas.draws import Categorical, ScoreDistribution, _normal_cdf
from counselsynth.personas.names import LocaleProfile, NameResolution, locale_profile
from counselsynth.personas.pools import TextPool, gendered
from counselsynth.personas.tables import PROBLEMS, NameGender, ProblemMix, bands_from_age
from counselsynth.vocabulary import ADULT_AGE

MAX_PERSONAS = 1_000_000
DEFAULT_LOCALE = "en_US"


@dataclass(frozen=True)
class _ProblemModel:
    """Everything the sampler draws for one presenting problem, precompiled."""

    gender: Categorical[str]
    age_bands: Categorical[tuple[int, int]]
    phq9: ScoreDistribution
    gad7: ScoreDistribution
    core_categories: Categorical[str]
    distortions: Categorical[str]
    stage: Categorical[str]
    elevated_multiplier: float
    needs_work: bool
    relationship: Categorical[str] | None


@dataclass
class SampleResult:
    personas: list[Persona]
    resolutions: dict[str, NameResolution] = field(default_factory=dict)
    languages: dict[str, str] = field(default_factory=dict)
    text_languages: dict[str, str] = field(default_factory=dict)
    seed: int = 0

    def notes(self) -> list[str]:
        """One line per locale: where its names come from and which language its profile text is in."""
        lines = []
        for locale, resolution in self.resolutions.items():
            line = resolution.describe()
            language, text = self.languages[locale], self.text_languages[locale]
            if text != primary_subtag(language):
                line += f"; no '{language}' text pools, so the profile text is English (language stays '{language}')"
            lines.append(line)
        return lines


class PersonaSampler:
    def __init__(
        self,
        distributions: Distributions,
        *,
        seed: int,
        problems: Mapping[str, float],
        locales: Mapping[str, float],
        native_text_only: bool = False,
        min_age: int = ADULT_AGE,
    ) -> None:
        self.d = distributions
        self.seed = seed
        self.min_age = min_age
        self.problems: Categorical[str] = Categorical(problems)
        self.locales: Categorical[str] = Categorical(locales)
        self.profiles: dict[str, LocaleProfile] = {}
        self.pools: dict[str, TextPool] = {}
        for locale in self.locales.items:
            profile = locale_profile(distributions, locale)
            language = profile.entry.language
            text_language = distributions.pool_language(language)
            if native_text_only and text_language != primary_subtag(language):
                available = ", ".join(sorted(distributions.pools))
                raise InputError(
                    f"locale '{locale}': no text pools in '{language}' (available: {available}); "
                    "drop --native-text-only to use English profile text"
                )
            self.profiles[locale] = profile
            self.pools[locale] = distributions.pools[text_language]
        # Every problem is compiled, not only the mix's: the importers may need any of them.
        self._models = {problem: self._compile(problem) for problem in PROBLEMS}
        e = distributions.engagement
        self._style: Categorical[str] = Categorical(e.style)
        self._disclosure = {style: Categorical(w) for style, w in e.disclosure_by_style.items()}
        self._trust = {level: Categorical(w) for level, w in e.trust_by_resistance.items()}
        self._counts = {name: Categorical(w) for name, w in distributions.conceptualization.counts.items()}
        self._life_stage = [(b.min, b.max, Categorical(b.weights)) for b in distributions.demographics.life_stage]
        self._relationship = [(b.min, b.max, Categorical(b.weights)) for b in distributions.demographics.relationship]
        phq9 = distributions.severity.scales["phq9"]
        self._phq9_scale = phq9
        self._risk_by_band = {band.id: distributions.risk.by_phq9_band[band.id] for band in phq9.bands}
        self._rho = distributions.severity.correlation
        self._risk_cache: dict[tuple[str, str], Categorical[str]] = {}
        self._resistance_cache: dict[tuple[str, str], Categorical[str]] = {}

    def _compile(self, problem: str) -> _ProblemModel:
        d = self.d
        demographics = d.demographics
        severity = d.severity.problems[problem]
        scales = d.severity.scales

        def score(scale: str, weights: Mapping[str, float]) -> ScoreDistribution:
            return ScoreDistribution((b.min, b.max, weights[b.id]) for b in scales[scale].bands)

        ages = bands_from_age(demographics.age.get(problem, demographics.age["default"]), self.min_age)
        if not ages:
            raise InputError(f"--min-age {self.min_age}: no {problem} client is that old in demographics.yaml")
        override = demographics.relationship_by_problem.get(problem)
        concept = d.conceptualization.problems[problem]
        return _ProblemModel(
            gender=Categorical(demographics.gender.get(problem, demographics.gender["default"])),
            age_bands=Categorical({(b.min, b.max): b.weight for b in ages}),
            phq9=score("phq9", severity.phq9),
            gad7=score("gad7", severity.gad7),
            core_categories=Categorical(concept.core_beliefs),
            distortions=Categorical(concept.distortions),
            stage=Categorical(d.engagement.stage_of_change[problem]),
            elevated_multiplier=d.risk.elevated_multiplier.get(problem, 1.0),
            needs_work=problem in demographics.needs_work,
            relationship=Categorical(override) if override else None,
        )

    def rng_for(self, index: int) -> random.Random:
        # An integer seed made of (seed, index) gives every persona its own stream, so persona i
        # does not depend on how many personas came before it.
        return random.Random((self.seed << 40) | index)

    def persona(self, index: int) -> Persona:
        rng = self.rng_for(index)
        locale = self.locales.draw(rng)
        problem = self.problems.draw(rng)
        profile = self.profiles[locale]
        pool = self.pools[locale]
        english_text = pool.language == "en" and primary_subtag(profile.entry.language) != "en"

        gender = self.draw_gender(problem, rng)
        # A non-binary client gets a name (and, in Spanish, grammatical forms) from one of the
        # two gendered lists, since the name sources have no others.
        name_gender: NameGender = "female" if gender == "female" else "male"
        if gender == "nonbinary":
            name_gender = "female" if rng.random() < 0.5 else "male"
        age = self.draw_age(problem, rng)
        life_stage = self.draw_life_stage(problem, age, rng)
        relationship = self.draw_relationship(problem, age, rng)
        phq9, gad7 = self.draw_scores(problem, rng)
        risk_level = self.draw_risk(problem, phq9, rng)
        stage = self.draw_stage(problem, rng)
        style = self.draw_style(rng)
        resistance = self.draw_resistance(stage, style, rng)
        name = profile.names.draw(name_gender, rng)
        place = profile.places.draw(rng, english=english_text)
        duration = rng.choice(pool.durations)
        description = rng.choice(pool.problems[problem].descriptions).format(
            name=name.given, duration=duration.span, ago=duration.ago
        )
        record: dict[str, Any] = {
            "id": f"syn-{locale.lower()}-s{self.seed}-{index:06d}",
            "language": profile.entry.language,
            "locale": locale,
            "demographics": {
                "name": name.full,
                "age": age,
                "gender": pool.genders[gender],
                "occupation": gendered(rng.choice(pool.occupations[life_stage]), name_gender),
                "location": pool.place_format.format(city=place.city, country=place.country),
                "relationship_status": gendered(pool.relationships[relationship], name_gender),
            },
            "presenting_problem": {"category": problem, "description": description},
            "severity": {"phq9": phq9, "gad7": gad7},
            "conceptualization": self.draw_conceptualization(problem, pool, rng),
            "stage_of_change": stage,
            "style": style,
            "resistance": resistance,
            "disclosure": self.draw_disclosure(style, rng),
            "trust": self.draw_trust(resistance, rng),
            "risk": {"level": risk_level, "factors": self.draw_risk_factors(pool, risk_level, rng)},
            "goals": self.draw_goals(problem, pool, rng),
        }
        return Persona.model_validate(record)

    # Each draw below is one step of the model; the importers use them to fill what a source
    # format lacks, so imported and sampled personas follow the same distributions.

    def draw_gender(self, problem: str, rng: random.Random) -> str:
        return self._models[problem].gender.draw(rng)

    def draw_age(self, problem: str, rng: random.Random) -> int:
        low, high = self._models[problem].age_bands.draw(rng)
        return rng.randint(low, high)

    def draw_life_stage(self, problem: str, age: int, rng: random.Random) -> str:
        return "working" if self._models[problem].needs_work else _bracket(self._life_stage, age).draw(rng)

    def draw_relationship(self, problem: str, age: int, rng: random.Random) -> str:
        override = self._models[problem].relationship
        if override is not None and age >= 18:
            return override.draw(rng)
        return _bracket(self._relationship, age).draw(rng)

    def draw_scores(self, problem: str, rng: random.Random) -> tuple[int, int]:
        # Gaussian copula: correlated normals turned into uniforms keep each scale's marginal
        # (its band proportions) exactly while tying the two scores together.
        model = self._models[problem]
        z1 = rng.gauss(0.0, 1.0)
        z2 = self._rho * z1 + math.sqrt(1.0 - self._rho**2) * rng.gauss(0.0, 1.0)
        return model.phq9.quantile(_normal_cdf(z1)), model.gad7.quantile(_normal_cdf(z2))

    def draw_risk(self, problem: str, phq9: int, rng: random.Random) -> str:
        key = (problem, self._phq9_scale.band_of(phq9))
        if key not in self._risk_cache:
            weights = dict(self._risk_by_band[key[1]])
            m = self._models[problem].elevated_multiplier
            shift = (weights["moderate"] + weights["high"]) * (m - 1.0)
            weights["moderate"] *= m
            weights["high"] *= m
            weights["none"] = max(0.0, weights["none"] - shift)
            self._risk_cache[key] = Categorical(weights)
        return self._risk_cache[key].draw(rng)

    def draw_stage(self, problem: str, rng: random.Random) -> str:
        return self._models[problem].stage.draw(rng)

    def draw_style(self, rng: random.Random) -> str:
        return self._style.draw(rng)

    def draw_resistance(self, stage: str, style: str, rng: random.Random) -> str:
        key = (stage, style)
        if key not in self._resistance_cache:
            weights = dict(self.d.engagement.resistance_by_stage[stage])
            for level, factor in self.d.engagement.resistance_style_factor.get(style, {}).items():
                weights[level] *= factor
            self._resistance_cache[key] = Categorical(weights)
        return self._resistance_cache[key].draw(rng)

    def draw_disclosure(self, style: str, rng: random.Random) -> str:
        return self._disclosure[style].draw(rng)

    def draw_trust(self, resistance: str, rng: random.Random) -> str:
        return self._trust[resistance].draw(rng)

    def draw_core_beliefs(self, problem: str, pool: TextPool, rng: random.Random) -> list[dict[str, str]]:
        categories = self._models[problem].core_categories.draw_distinct(rng, self._counts["core_beliefs"].draw(rng))
        return [{"category": c, "belief": rng.choice(pool.core_beliefs[c])} for c in categories]

    def draw_intermediate_beliefs(self, categories: Sequence[str], pool: TextPool, rng: random.Random) -> list[str]:
        lists = [pool.intermediate_beliefs[c] for c in categories]
        return _round_robin(rng, lists, self._counts["intermediate_beliefs"].draw(rng))

    def draw_automatic_thoughts(self, problem: str, pool: TextPool, rng: random.Random) -> list[str]:
        return rng.sample(pool.problems[problem].automatic_thoughts, self._counts["automatic_thoughts"].draw(rng))

    def draw_distortions(self, problem: str, rng: random.Random) -> list[str]:
        return self._models[problem].distortions.draw_distinct(rng, self._counts["cognitive_distortions"].draw(rng))

    def draw_coping(self, problem: str, pool: TextPool, rng: random.Random) -> list[str]:
        return rng.sample(pool.problems[problem].coping_strategies, self._counts["coping_strategies"].draw(rng))

    def draw_goals(self, problem: str, pool: TextPool, rng: random.Random) -> list[str]:
        return rng.sample(pool.problems[problem].goals, self._counts["goals"].draw(rng))

    def draw_conceptualization(self, problem: str, pool: TextPool, rng: random.Random) -> dict[str, Any]:
        core = self.draw_core_beliefs(problem, pool, rng)
        return {
            "core_beliefs": core,
            "intermediate_beliefs": self.draw_intermediate_beliefs([b["category"] for b in core], pool, rng),
            "automatic_thoughts": self.draw_automatic_thoughts(problem, pool, rng),
            "cognitive_distortions": self.draw_distortions(problem, rng),
            "coping_strategies": self.draw_coping(problem, pool, rng),
        }

    def draw_risk_factors(self, pool: TextPool, level: str, rng: random.Random) -> list[str]:
        factors: list[str] = []
        for kind, (low, high) in self.d.risk.factors[level].items():
            options = pool.risk_factors[kind]
            factors.extend(rng.sample(options, min(rng.randint(low, high), len(options))))
        return factors

    def sample(self, n: int) -> list[Persona]:
        return [self.persona(index) for index in range(1, n + 1)]


def _bracket(brackets: Sequence[tuple[int, int, Categorical[str]]], age: int) -> Categorical[str]:
    return next(table for low, high, table in brackets if low <= age <= high)


def _round_robin(rng: random.Random, lists: Sequence[Sequence[str]], k: int) -> list[str]:
    """k distinct items taken in turn from shuffled `lists` (one per chosen core-belief category)."""
    shuffled = [rng.sample(list(items), len(items)) for items in lists]
    chosen: list[str] = []
    for group in itertools.zip_longest(*shuffled):
        for item in group:
            if item is not None and item not in chosen:
                chosen.append(item)
                if len(chosen) == k:
                    return chosen
    return chosen


# -- the public entry points ----------------------------------------------------------------------


def load_mix(path: Path, distributions: Distributions | None = None) -> ProblemMix:
    """Read a --mix file; unknown problems or locales and proportions not adding up to 1 are errors."""
    distributions = distributions or load_distributions()
    mix = load_one(path, ProblemMix)
    check_mix(mix, path, frozenset(distributions.locales.locales))
    return mix


def check_count(n: int) -> None:
    if n < 1:
        raise InputError(f"-n must be at least 1, got {n}")
    if n > MAX_PERSONAS:
        raise InputError(f"-n must be at most {MAX_PERSONAS:,}, got {n:,}; sample in several runs with different seeds")


def sample_personas(
    n: int,
    *,
    seed: int = 0,
    locales: Sequence[str] = (),
    mix: ProblemMix | None = None,
    native_text_only: bool = False,
    distributions: Distributions | None = None,
    min_age: int = ADULT_AGE,
) -> SampleResult:
    """Draw n personas. Locales: the given ones, equally weighted; else the mix's; else en_US.

    Clients are `min_age` or older: adults by default; the distributions hold adolescents (14-17)
    for some problems, drawn only with a lower `min_age`."""
    check_count(n)
    if seed < 0:
        raise InputError(f"--seed must not be negative, got {seed}")
    distributions = distributions or load_distributions()
    problems = (mix or distributions.mix).problems
    unknown = sorted(set(problems) - set(PROBLEMS))
    if unknown:
        raise InputError(f"unknown problems in the mix: {', '.join(unknown)}; valid: {', '.join(PROBLEMS)}")
    if locales:
        weights = {locale: 1.0 for locale in dict.fromkeys(locales)}
    elif mix is not None and mix.locales:
        weights = dict(mix.locales)
    else:
        weights = {DEFAULT_LOCALE: 1.0}
    sampler = PersonaSampler(
        distributions,
        seed=seed,
        problems=problems,
        locales=weights,
        native_text_only=native_text_only,
        min_age=min_age,
    )
    personas = sampler.sample(n)
    return SampleResult(
        personas=personas,
        resolutions={locale: p.resolution for locale, p in sampler.profiles.items()},
        languages={locale: p.entry.language for locale, p in sampler.profiles.items()},
        text_languages={locale: pool.language for locale, pool in sampler.pools.items()},
        seed=seed,
    )
