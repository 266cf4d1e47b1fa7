"""Turn public persona formats into counselsynth personas: Patient-Psi profiles and Cactus intakes.

Patient-Psi (Wang et al. 2024) publishes cognitive conceptualization diagrams: a JSON list of
profiles with `name`, `id`, `type` (conversational styles), `history`, `helpless_belief`,
`unlovable_belief`, `worthless_belief` (lists of Beck's core beliefs; `*_current` in some
versions), `intermediate_belief`, `intermediate_belief_depression`, `coping_strategies`,
`situation`, `auto_thought`, `emotion` and `behavior`. Cactus (Lee et al. 2024) publishes rows
with an `intake_form` (a text form: Name, Age, Gender, Occupation, ..., numbered sections for the
presenting problem, reason for counseling, past history and support), the client's `thought`, its
thinking-trap `patterns`, an `attitude` (positive, neutral, negative), `cbt_technique`, `cbt_plan`.

What a format does not record (Patient-Psi has no age or severity; Cactus has no core beliefs)
is filled from the sampler's distributions for the record's presenting problem, seeded by the
record's id, so an import is reproducible; `ImportResult.filled` says which fields were filled.
Free-text demographics a format lacks become "not stated" rather than invented. The vocabularies
and keyword rules are data: personas/distributions/import_mappings.yaml.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from counselsynth.datafiles import problems
from counselsynth.errors import DataFileError, InputError
from counselsynth.models import Persona
from counselsynth.personas.distributions import Distributions, load_distributions
from counselsynth.personas.sampling import PersonaSampler
from counselsynth.personas.source_formats import (
    CactusRecord,
    IntakeForm,
    PatientPsiProfile,
    belief_lines,
    parse_record,
    read_records,
)
from counselsynth.personas.tables import PROBLEMS, ImportMappings
from counselsynth.vocabulary import PERSONA_SOURCE_FORMATS

NOT_STATED = "not stated"
TEXT_LANGUAGE = "en"  # both formats are English
T = TypeVar("T")
NEGATION_WINDOW = 6  # words before a risk mention that may negate it


@dataclass
class ImportResult:
    personas: list[Persona]
    filled: Counter[str] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)


class _Record:
    """One source record being converted: its label for errors, its rng and what was filled."""

    def __init__(self, path: Path, label: str, source_id: str, seed: int) -> None:
        self.path = path
        self.label = label
        # Seeded by the record's own id, so a record converts the same whatever else is in the file.
        self.rng = random.Random(f"{seed}:{source_id}")
        self.filled: list[str] = []

    def fill(self, name: str, value: T) -> T:
        self.filled.append(name)
        return value

    def error(self, field: str | None, problem: str) -> DataFileError:
        return DataFileError(self.path, self.label, field, problem)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-") or "x"


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text[-1] in ".!?" else text + "."


def _keyword_pattern(phrase: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(phrase.lower()) + r"(?![\w-])")


class _Rules:
    """The keyword rules of import_mappings.yaml, compiled once."""

    def __init__(self, mappings: ImportMappings) -> None:
        self.problem_keywords = {
            problem: [_keyword_pattern(k) for k in words] for problem, words in mappings.problem_keywords.items()
        }
        self.risk = [_keyword_pattern(k) for k in mappings.risk_keywords]
        # "n't" is glued to its verb ("haven't"), so it is matched as a suffix, the rest as words.
        words = [n for n in mappings.risk_negations if n != "n't"]
        self.negation = re.compile(
            r"(?<![\w-])(?:"
            + "|".join(re.escape(w) for w in words)
            + r")(?![\w-])"
            + (r"|n't\b|n’t\b" if "n't" in mappings.risk_negations else "")
        )

    def problem(self, text: str, default: str) -> str:
        lowered = text.lower()
        hits = {p: sum(len(k.findall(lowered)) for k in ks) for p, ks in self.problem_keywords.items()}
        best = max(hits.values(), default=0)
        # Ties go to the earlier rule, as documented in import_mappings.yaml.
        return next((p for p, h in hits.items() if h == best), default) if best > 0 else default

    def mentions_risk(self, text: str) -> bool:
        """Whether the text mentions suicide or self-harm without negating that mention.

        A mention is negated by a negation word among the few words before it in the same clause
        ("I have never had suicidal thoughts", "no self-harm"), not by one after it ("would be
        better off dead, though no plan").
        """
        lowered = text.lower()
        for keyword in self.risk:
            for match in keyword.finditer(lowered):
                clause = re.split(r"[.!?;:,\n]", lowered[: match.start()])[-1]
                window = " ".join(clause.split()[-NEGATION_WINDOW:])
                if not self.negation.search(window):
                    return True
        return False


class Importer:
    def __init__(self, distributions: Distributions, *, seed: int = 0, problem: str | None = None) -> None:
        if problem is not None and problem not in PROBLEMS:
            raise InputError(f"unknown --problem '{problem}'; valid: {', '.join(PROBLEMS)}")
        self.d = distributions
        self.seed = seed
        self.problem = problem
        self.rules = _Rules(distributions.imports)
        self.sampler = PersonaSampler(
            distributions, seed=seed, problems={p: 1.0 for p in PROBLEMS}, locales={"en_US": 1.0}
        )
        self.pool = distributions.pools[TEXT_LANGUAGE]

    def run(self, path: Path, source: str) -> ImportResult:
        convert: Callable[[Path, str, int, dict[str, Any]], tuple[Persona, list[str]]]
        convert = self._patient_psi if source == "patient-psi" else self._cactus
        result = ImportResult(personas=[])
        seen: dict[str, str] = {}
        for ordinal, (label, data) in enumerate(read_records(path, source), start=1):
            persona, filled = convert(path, label, ordinal, data)
            if persona.id in seen:
                raise DataFileError(path, label, "id", f"duplicate id '{persona.id}' (first in {seen[persona.id]})")
            seen[persona.id] = label
            result.personas.append(persona)
            result.filled.update(filled)
            result.problems[persona.presenting_problem.category] += 1
        if not result.personas:
            raise DataFileError(path, None, None, f"no {source} records")
        return result

    # -- shared fills -----------------------------------------------------------------------------

    def _risk(self, record: _Record, text: str) -> dict[str, Any]:
        if self.rules.mentions_risk(text):
            return {"level": "moderate", "factors": ["the source record mentions suicidal thoughts or self-harm"]}
        return record.fill("risk", {"level": "none", "factors": []})

    def _adult_age(self, problem: str, rng: random.Random) -> int:
        minimum = self.d.imports.patient_psi.min_age
        for _ in range(100):
            age = self.sampler.draw_age(problem, rng)
            if age >= minimum:
                return age
        return minimum

    def _persona(self, record: _Record, data: dict[str, Any]) -> Persona:
        try:
            return Persona.model_validate(data)
        except ValidationError as exc:
            raise problems(exc, record.path, record.label)[0] from None

    # -- Patient-Psi ------------------------------------------------------------------------------

    def _patient_psi(self, path: Path, label: str, ordinal: int, data: dict[str, Any]) -> tuple[Persona, list[str]]:
        source = parse_record(PatientPsiProfile, data, path, label, "Patient-Psi profile")
        record = _Record(path, label, f"patient-psi:{source.id}", self.seed)
        rng, sampler, pool = record.rng, self.sampler, self.pool
        core = [
            {"category": category, "belief": belief.strip()}
            for category, beliefs in (
                ("helpless", source.helpless_belief),
                ("unlovable", source.unlovable_belief),
                ("worthless", source.worthless_belief),
            )
            for belief in beliefs
            if belief.strip()
        ]
        if not core:
            raise record.error(
                "helpless_belief", "no core beliefs: helpless_, unlovable_ and worthless_belief are all empty"
            )
        intermediate = belief_lines(source.intermediate_belief) + belief_lines(source.intermediate_belief_depression)
        if not intermediate:
            raise record.error("intermediate_belief", "is empty")
        problem = self.problem or self.d.imports.patient_psi.default_problem
        styles = self.d.imports.patient_psi.styles
        for kind in source.type:
            if kind.lower() not in styles:
                raise record.error("type", f"unknown conversational style '{kind}'; valid: {', '.join(styles)}")
        listed = sorted({styles[k.lower()] for k in source.type})
        # Patient-Psi profiles list every style a client can be played in; one is chosen per persona.
        style = rng.choice(listed) if listed else record.fill("style", sampler.draw_style(rng))
        if len(listed) > 1:
            record.filled.append("style")
        phq9, gad7 = record.fill("severity", sampler.draw_scores(problem, rng))
        stage = record.fill("stage_of_change", sampler.draw_stage(problem, rng))
        resistance = record.fill("resistance", sampler.draw_resistance(stage, style, rng))
        emotions = "; ".join(e.strip() for e in source.emotion if e.strip())
        description = " ".join(
            part
            for part in (
                _sentence(f"Recent situation: {source.situation}") if source.situation else "",
                _sentence(f"Emotions: {emotions}") if emotions else "",
                _sentence(f"Behaviour: {source.behavior}") if source.behavior else "",
            )
            if part
        ) or _sentence(f"Automatic thought: {source.auto_thought}")
        everything = " ".join([source.history, source.situation, source.auto_thought, source.behavior])
        persona = {
            "id": f"patient-psi-{_slug(source.id)}",
            "language": TEXT_LANGUAGE,
            "demographics": {
                "name": source.name,
                "age": record.fill("demographics.age", self._adult_age(problem, rng)),
                "gender": _pronoun_gender(source.history) or NOT_STATED,
                "occupation": NOT_STATED,
                "location": NOT_STATED,
            },
            "presenting_problem": {"category": problem, "description": description},
            "severity": {"phq9": phq9, "gad7": gad7},
            "conceptualization": {
                "core_beliefs": core,
                "intermediate_beliefs": intermediate,
                "automatic_thoughts": [source.auto_thought],
                "cognitive_distortions": record.fill(
                    "conceptualization.cognitive_distortions", sampler.draw_distortions(problem, rng)
                ),
                "coping_strategies": [source.coping_strategies],
            },
            "stage_of_change": stage,
            "style": style,
            "resistance": resistance,
            "disclosure": record.fill("disclosure", sampler.draw_disclosure(style, rng)),
            "trust": record.fill("trust", sampler.draw_trust(resistance, rng)),
            "risk": self._risk(record, everything),
            "goals": record.fill("goals", sampler.draw_goals(problem, pool, rng)),
            "history": source.history or None,
        }
        return self._persona(record, persona), record.filled

    # -- Cactus -----------------------------------------------------------------------------------

    def _cactus(self, path: Path, label: str, ordinal: int, data: dict[str, Any]) -> tuple[Persona, list[str]]:
        source = parse_record(CactusRecord, data, path, label, "Cactus record")
        # Cactus rows have no id: the id is the row's position, but the filled fields are seeded by
        # the row's content, so a row converts the same wherever it sits in the file.
        content = "\0".join((source.intake_form, source.thought, source.attitude))
        record = _Record(path, label, "cactus:" + hashlib.sha256(content.encode()).hexdigest()[:16], self.seed)
        rng, sampler, pool = record.rng, self.sampler, self.pool
        form = IntakeForm.parse(source.intake_form)
        name = form.fields.get("name")
        if not name:
            raise record.error("intake_form", "no 'Name:' line; is this a Cactus intake form?")
        age_text = form.fields.get("age", "")
        if not age_text.isdigit():
            raise record.error("intake_form", f"no numeric 'Age:' (found {age_text!r})")
        presenting = form.section("presenting problem")
        if not presenting:
            raise record.error("intake_form", "no '2. Presenting Problem' section")
        mapping = self.d.imports.cactus
        distortions: list[str] = []
        for pattern in source.patterns:
            key = " ".join(pattern.lower().split())
            if key not in mapping.patterns:
                raise record.error(
                    "patterns", f"unknown thinking pattern '{pattern}'; known: {', '.join(mapping.patterns)}"
                )
            if mapping.patterns[key] not in distortions:
                distortions.append(mapping.patterns[key])
        attitude = mapping.attitudes.get(source.attitude.lower())
        if attitude is None:
            raise record.error(
                "attitude", f"unknown attitude '{source.attitude}'; valid: {', '.join(mapping.attitudes)}"
            )
        reason = form.section("reason for seeking counseling")
        problem = self.problem or self.rules.problem(f"{presenting} {reason}", mapping.default_problem)
        core = record.fill("conceptualization.core_beliefs", sampler.draw_core_beliefs(problem, pool, rng))
        phq9, gad7 = record.fill("severity", sampler.draw_scores(problem, rng))
        history = " ".join(
            _sentence(s) for s in (form.section("past history"), form.section("social support system")) if s
        )
        persona = {
            "id": f"cactus-{ordinal:06d}",
            "language": TEXT_LANGUAGE,
            "demographics": {
                "name": name,
                "age": int(age_text),
                "gender": (form.fields.get("gender") or NOT_STATED).lower(),
                "occupation": form.fields.get("occupation") or NOT_STATED,
                "location": NOT_STATED,
                "relationship_status": (form.fields.get("marital status") or "").lower() or None,
            },
            "presenting_problem": {"category": problem, "description": " ".join(presenting.split())},
            "severity": {"phq9": phq9, "gad7": gad7},
            "conceptualization": {
                "core_beliefs": core,
                "intermediate_beliefs": record.fill(
                    "conceptualization.intermediate_beliefs",
                    sampler.draw_intermediate_beliefs([b["category"] for b in core], pool, rng),
                ),
                "automatic_thoughts": [source.thought],
                "cognitive_distortions": distortions
                or record.fill("conceptualization.cognitive_distortions", sampler.draw_distortions(problem, rng)),
                "coping_strategies": record.fill(
                    "conceptualization.coping_strategies", sampler.draw_coping(problem, pool, rng)
                ),
            },
            "stage_of_change": record.fill("stage_of_change", sampler.draw_stage(problem, rng)),
            "style": attitude.style,
            "resistance": attitude.resistance,
            "disclosure": attitude.disclosure,
            "trust": attitude.trust,
            "risk": self._risk(record, f"{source.intake_form} {source.thought}"),
            "goals": record.fill("goals", sampler.draw_goals(problem, pool, rng)),
            "history": history or None,
        }
        try:
            return self._persona(record, persona), record.filled
        except DataFileError as exc:
            if exc.field == "demographics.age":
                raise record.error("intake_form", f"age {age_text} is outside 12-100") from None
            raise


_HE = re.compile(r"\b(he|him|his|himself)\b", re.IGNORECASE)
_SHE = re.compile(r"\b(she|her|hers|herself)\b", re.IGNORECASE)


def _pronoun_gender(text: str) -> str | None:
    """'male'/'female' when the history's third-person pronouns clearly say so, else None."""
    he, she = len(_HE.findall(text)), len(_SHE.findall(text))
    if he > 2 * she and he >= 2:
        return "male"
    if she > 2 * he and she >= 2:
        return "female"
    return None


def import_personas(
    path: Path,
    source: str,
    *,
    seed: int = 0,
    problem: str | None = None,
    distributions: Distributions | None = None,
) -> ImportResult:
    """Convert a Patient-Psi or Cactus file; the first record that cannot be read is an error."""
    if source not in PERSONA_SOURCE_FORMATS:
        raise InputError(f"unknown format '{source}'; valid: {', '.join(PERSONA_SOURCE_FORMATS)}")
    if seed < 0:
        raise InputError(f"--seed must not be negative, got {seed}")
    importer = Importer(distributions or load_distributions(), seed=seed, problem=problem)
    return importer.run(path, source)
