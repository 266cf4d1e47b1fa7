"""Persona sampling: coherent, reproducible, distinct personas in the configured proportions, in any
supported locale, with names from the locale and no contact details; and the CLI around it."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import SHIPPED_PERSONAS, generate, persona_record, write_personas
from conftest import run_cli as run
from faker import Faker
from scipy.stats import chisquare

from counselsynth.errors import DataFileError
from counselsynth.frameworks import FrameworkCatalog
from counselsynth.models import ELEVATED_RISK, Persona
from counselsynth.personas import load_personas, persona_files, persona_stats, sample_personas
from counselsynth.personas.distributions import Distributions, load_distributions
from counselsynth.personas.names import faker_person_locale, locale_profile, looks_english
from counselsynth.personas.privacy import contact_details
from counselsynth.personas.tables import PROBLEMS

MIX_LOCALES = ("en_US", "fa_IR")
N = 10_000
P_MIN = 0.001
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
PHONE = re.compile(r"(?<![\w-])\+?\d[\d ()./-]{5,}\d(?![\w-])")
STREET = re.compile(
    r"\b\d{1,5}\s+(?:[A-Z][\w'-]*\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Way)\b"
)


@pytest.fixture(scope="module")
def dist() -> Distributions:
    return load_distributions()


@pytest.fixture(scope="module")
def ten_thousand() -> list[Persona]:
    return sample_personas(N, seed=11, locales=MIX_LOCALES).personas


def _content(persona: Persona) -> str:
    return json.dumps(persona.model_dump(mode="json", exclude={"id"}), sort_keys=True, ensure_ascii=False)


def _normalised(weights: dict[str, float]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: v / total for k, v in weights.items()}


def _assert_matches(observed: Counter[str], expected: dict[str, float], what: str) -> None:
    """Chi-square goodness of fit of observed counts against expected proportions."""
    keys = [k for k, p in expected.items() if p > 0]
    assert set(observed) <= set(keys), f"{what}: values with zero probability: {set(observed) - set(keys)}"
    n = sum(observed.values())
    result = chisquare([observed[k] for k in keys], [expected[k] * n for k in keys])
    assert result.pvalue > P_MIN, f"{what}: chi-square p = {result.pvalue:.2g}; observed {dict(observed)}"


# -- the model ------------------------------------------------------------------------------------


def test_sampling_is_deterministic_prefix_stable_and_seed_dependent() -> None:
    first = sample_personas(60, seed=3, locales=["sw", "am_ET"]).personas
    again = sample_personas(60, seed=3, locales=["sw", "am_ET"]).personas
    prefix = sample_personas(20, seed=3, locales=["sw", "am_ET"]).personas
    other = sample_personas(60, seed=4, locales=["sw", "am_ET"]).personas
    assert [p.model_dump() for p in first] == [p.model_dump() for p in again]
    assert [p.model_dump() for p in prefix] == [p.model_dump() for p in first[:20]]
    assert [p.id for p in first[:3]] == [first[0].id, first[1].id, first[2].id]
    assert first[0].id == f"syn-{first[0].locale.lower()}-s3-000001"  # type: ignore[union-attr]
    assert {_content(p) for p in first}.isdisjoint({_content(p) for p in other})


def test_ten_thousand_personas_are_distinct_and_valid(ten_thousand: list[Persona]) -> None:
    assert len(ten_thousand) == N
    assert len({p.id for p in ten_thousand}) == N
    assert len({_content(p) for p in ten_thousand}) == N
    for persona in ten_thousand[:200]:
        assert Persona.model_validate(persona.model_dump(mode="json")) == persona


def test_mixes_match_the_configured_proportions(ten_thousand: list[Persona], dist: Distributions) -> None:
    mix = _normalised(dist.mix.problems)
    problems = Counter(p.presenting_problem.category for p in ten_thousand)
    _assert_matches(problems, mix, "problems")
    _assert_matches(Counter(p.locale or "" for p in ten_thousand), {loc: 0.5 for loc in MIX_LOCALES}, "locales")
    _assert_matches(Counter(p.style for p in ten_thousand), _normalised(dist.engagement.style), "styles")

    phq9 = dist.severity.scales["phq9"]
    expected_bands: Counter[str] = Counter()
    expected_stage: Counter[str] = Counter()
    for problem, share in mix.items():
        for band, w in _normalised(dist.severity.problems[problem].phq9).items():
            expected_bands[band] += share * w
        for stage, w in _normalised(dist.engagement.stage_of_change[problem]).items():
            expected_stage[stage] += share * w
    _assert_matches(Counter(phq9.band_of(p.severity.phq9) for p in ten_thousand), dict(expected_bands), "PHQ-9")
    _assert_matches(Counter(p.stage_of_change for p in ten_thousand), dict(expected_stage), "stages")

    # Within one problem, the GAD-7 bands follow that problem's weights.
    gad7 = dist.severity.scales["gad7"]
    anxious = Counter(gad7.band_of(p.severity.gad7) for p in ten_thousand if p.presenting_problem.category == "anxiety")
    _assert_matches(anxious, _normalised(dist.severity.problems["anxiety"].gad7), "GAD-7 given anxiety")


def test_risk_is_rare_and_elevated_only_with_high_phq9(ten_thousand: list[Persona], dist: Distributions) -> None:
    elevated = [p for p in ten_thousand if p.risk.level in ELEVATED_RISK]
    assert all(p.severity.phq9 >= dist.risk.min_phq9_for_elevated for p in elevated)
    assert 0.02 < len(elevated) / N < 0.05
    for persona in ten_thousand:
        assert (persona.risk.level == "none") == (persona.risk.factors == [])
    # Severe depression carries elevated risk far more often than the file as a whole.
    severe = [p for p in ten_thousand if p.severity.phq9 >= 20]
    assert sum(p.risk.level in ELEVATED_RISK for p in severe) / len(severe) > 2 * len(elevated) / N


def test_severity_and_conceptualization_fit_the_problem(ten_thousand: list[Persona], dist: Distributions) -> None:
    phq9, gad7 = dist.severity.scales["phq9"], dist.severity.scales["gad7"]
    for p in ten_thousand:
        problem = p.presenting_problem.category
        weights = dist.severity.problems[problem]
        assert weights.phq9[phq9.band_of(p.severity.phq9)] > 0
        assert weights.gad7[gad7.band_of(p.severity.gad7)] > 0
        concept = dist.conceptualization.problems[problem]
        c = p.conceptualization
        categories = [b.category for b in c.core_beliefs]
        assert len(set(categories)) == len(categories)
        assert all(concept.core_beliefs[cat] > 0 for cat in categories)
        assert all(concept.distortions.get(d, 0) > 0 for d in c.cognitive_distortions)
        pool = dist.pool_for(p.language)
        assert all(b.belief in pool.core_beliefs[b.category] for b in c.core_beliefs)
        allowed = {text for cat in categories for text in pool.intermediate_beliefs[cat]}
        assert set(c.intermediate_beliefs) <= allowed
        assert set(c.automatic_thoughts) <= set(pool.problems[problem].automatic_thoughts)
        assert set(c.coping_strategies) <= set(pool.problems[problem].coping_strategies)
        assert set(p.goals) <= set(pool.problems[problem].goals)


def test_demographics_hold_together(ten_thousand: list[Persona], dist: Distributions) -> None:
    pool = dist.pools["en"]
    school = set(pool.occupations["school"])
    working = {o for o in pool.occupations["working"] if isinstance(o, str)}
    partnered = {pool.relationships["partnered"], pool.relationships["married"]}
    english = [p for p in ten_thousand if p.language == "en"]
    assert english
    for p in english:
        age, occupation = p.demographics.age, p.demographics.occupation
        if age < 18:
            assert occupation in school and p.demographics.relationship_status == "single"
        else:
            assert occupation not in school
        if p.presenting_problem.category == "work_stress":
            assert occupation in working
        if p.presenting_problem.category == "relationship_conflict":
            assert p.demographics.relationship_status in partnered
        city, country = p.demographics.location.rsplit(", ", 1)
        assert country == "United States"
        assert city in dist.locales.locales["en_US"].countries[0].cities


def test_no_contact_details_in_sampled_personas(ten_thousand: list[Persona]) -> None:
    for persona in ten_thousand:
        assert contact_details(persona) == []
        text = json.dumps(persona.model_dump(mode="json"), ensure_ascii=False)
        assert not EMAIL.search(text) and not STREET.search(text)
        assert not PHONE.search(text), PHONE.search(text)


def test_a_mix_file_steers_problems_and_locales(tmp_path: Path) -> None:
    mix = tmp_path / "mix.yaml"
    mix.write_text(yaml.safe_dump({"problems": {"smoking": 0.7, "grief": 0.3}, "locales": {"sw": 0.5, "es_MX": 0.5}}))
    code, _, err = run("personas", "sample", "-n", "600", "--out", str(tmp_path / "p.jsonl"), "--mix", str(mix))
    assert code == 0, err
    personas = load_personas(tmp_path / "p.jsonl", ()).personas
    _assert_matches(Counter(p.presenting_problem.category for p in personas), {"smoking": 0.7, "grief": 0.3}, "mix")
    assert {p.locale for p in personas} == {"sw", "es_MX"}


# -- locales and names ----------------------------------------------------------------------------


def _faker_parts(locale: str) -> set[str]:
    provider = Faker(locale, providers=["faker.providers.person"]).factories[0].providers[0]
    parts: set[str] = set()
    for attr in ("first_names_female", "first_names_male", "last_names", "last_names_female", "last_names_male"):
        value = getattr(provider, attr, ())
        parts.update(value.keys() if isinstance(value, dict) else value)
    return parts


def _segments(name: str, parts: set[str]) -> bool:
    """Whether `name` is a sequence of known name parts (with or without spaces between them)."""
    reachable = {0}
    for i in range(len(name)):
        if i not in reachable:
            continue
        start = i + 1 if name[i] == " " else i
        for j in range(start + 1, len(name) + 1):
            if name[start:j] in parts:
                reachable.add(j)
    return len(name) in reachable


@pytest.mark.parametrize(
    ("locale", "source"),
    [
        ("en_US", "faker:en_US"),
        ("fa_IR", "faker:fa_IR"),
        ("sw", "faker:sw"),
        ("es_MX", "faker:es_MX"),
        ("zh_CN", "faker:zh_CN"),
        ("ja_JP", "faker:ja_JP"),
        ("en_AU", "faker:en_US"),
        ("am_ET", "table:am_ET"),
        ("ar_EG", "table:ar_EG"),
        ("tl_PH", "table:tl_PH"),
        ("fil_PH", "table:tl_PH"),
        ("ur", "table:ur"),
        ("my_MM", "table:my_MM"),
        ("km_KH", "table:km_KH"),
    ],
)
def test_names_come_from_the_locale_generator_or_the_fallback_table(
    locale: str, source: str, dist: Distributions
) -> None:
    profile = locale_profile(dist, locale)
    assert profile.names.origin == source
    kind, name_locale = source.split(":")
    if kind == "faker":
        parts = _faker_parts(name_locale)
    else:
        groups = dist.fallback_names.tables[name_locale].groups
        parts = {n for g in groups for n in (*g.given_female, *g.given_male, *g.family_names)}
    personas = sample_personas(80, seed=5, locales=[locale]).personas
    for persona in personas:
        assert persona.locale == locale
        assert persona.language == dist.locales.locales[locale].language
        assert _segments(persona.demographics.name, parts), persona.demographics.name
    if kind == "table" and locale != "fil_PH" and locale != "tl_PH":
        # The tables are in the locale's script, so no en_US name can slip through.
        assert not any(re.fullmatch(r"[A-Za-z .'-]+", p.demographics.name) for p in personas)


def test_fakers_english_fallback_is_detected() -> None:
    assert faker_person_locale("fa_IR") == "fa_IR"
    assert faker_person_locale("sw") == "sw"
    for locale in ("am_ET", "ar_EG", "tl_PH", "sq_AL"):
        assert faker_person_locale(locale) == "en_US"  # what the fallback table is for
    for locale in ("ur", "my_MM", "km_KH"):
        assert faker_person_locale(locale) is None
    # The second guard: a locale whose provider resolves but whose names are en_US names.
    assert looks_english("en_US") and looks_english("en_CA")
    assert not any(looks_english(locale) for locale in ("fa_IR", "sw", "de_DE", "en_GB", "tw_GH"))


def test_every_catalogue_locale_has_names_and_places(dist: Distributions) -> None:
    for locale in dist.locales.locales:
        persona = sample_personas(1, seed=1, locales=[locale]).personas[0]
        assert persona.locale == locale and persona.demographics.name and persona.demographics.location


def test_profile_text_follows_the_locale_language(dist: Distributions) -> None:
    result = sample_personas(30, seed=8, locales=["fa_IR", "sw", "am_ET"])
    for persona in result.personas:
        pool = dist.pool_for(persona.language)
        assert persona.demographics.gender in pool.genders.values()
        if persona.locale == "fa_IR":
            assert re.search(r"[\u0600-\u06FF]", persona.presenting_problem.description)
        if persona.locale == "am_ET":
            assert pool.language == "en" and persona.language == "am"
    assert result.text_languages == {"fa_IR": "fa", "sw": "sw", "am_ET": "en"}
    notes = "\n".join(result.notes())
    assert "am_ET: names from the fallback table (Faker falls back to en_US names)" in notes
    assert "no 'am' text pools, so the profile text is English (language stays 'am')" in notes


# -- through the pipeline -------------------------------------------------------------------------

PIPELINE_LOCALES = ("en_US", "es_MX", "fa_IR", "sw", "am_ET", "zh_CN")


def test_sampled_personas_in_six_locales_validate_and_generate_offline(
    tmp_path: Path, catalog: FrameworkCatalog
) -> None:
    personas = [p for locale in PIPELINE_LOCALES for p in sample_personas(2, seed=21, locales=[locale]).personas]
    # One high-risk persona so the safety protocol (and its crisis lines) is in the dialogues too.
    personas.append(sample_personas(1, seed=21, mix=None, locales=["en_US"]).personas[0])
    personas[-1] = personas[-1].model_copy(
        update={
            "id": "syn-risk",
            "severity": personas[-1].severity.model_copy(update={"phq9": 22}),
            "risk": personas[-1].risk.model_copy(update={"level": "high", "factors": ["has thought about a method"]}),
        }
    )
    path = write_personas(tmp_path / "sampled.yaml", [p.model_dump(mode="json", exclude_none=True) for p in personas])
    code, out, err = run("personas", "validate", str(path))
    assert (code, err) == (0, "") and out.startswith(f"ok: {len(personas)} personas")
    cases = generate(path, tmp_path / "run", catalog, sessions=1)
    assert len(cases) == len(personas)
    assert {c.persona["locale"] for c in cases} == set(PIPELINE_LOCALES)
    assert {c.persona_language for c in cases} == {"en", "es", "fa", "sw", "am", "zh"}
    assert any(t.annotations.safety_step for c in cases for t in c.sessions[0].turns)
    allowed = " ".join(catalog.safety.resources.values())
    for case in cases:
        allowed_here = allowed + json.dumps(case.persona, ensure_ascii=False)
        for turn in case.sessions[0].turns:
            for pattern in (EMAIL, PHONE, STREET):
                for match in pattern.finditer(turn.text):
                    assert match.group() in allowed_here, (case.case_id, match.group(), turn.text)


# -- the command line -----------------------------------------------------------------------------


def test_sample_writes_jsonl_or_yaml_by_suffix_and_the_same_seed_gives_the_same_file(tmp_path: Path) -> None:
    jsonl, again, as_yaml = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.yaml"
    for target in (jsonl, again, as_yaml):
        code, out, err = run("personas", "sample", "-n", "25", "--out", str(target), "--locale", "fa_IR", "--seed", "9")
        assert code == 0, err
        assert out.startswith(f"wrote 25 personas to {target} (seed 9, faker ")
        assert err.strip() == "note: fa_IR: names from Faker (fa_IR)"
    assert jsonl.read_bytes() == again.read_bytes()
    assert len(jsonl.read_text(encoding="utf-8").splitlines()) == 25
    from_yaml = load_personas(as_yaml, ()).personas
    assert [p.model_dump() for p in from_yaml] == [p.model_dump() for p in load_personas(jsonl, ()).personas]


def _mix(tmp_path: Path, problems: dict[str, float]) -> str:
    path = tmp_path / "mix.yaml"
    path.write_text(yaml.safe_dump({"problems": problems}))
    return str(path)


MIX = "<mix>"  # stands for a mix file written from the case's proportions
BAD_SAMPLES: dict[str, tuple[list[str], dict[str, float] | None, str, str]] = {
    "zero": (["-n", "0"], None, "p.jsonl", "-n must be at least 1, got 0"),
    "negative": (["-n", "-5"], None, "p.jsonl", "-n must be at least 1, got -5"),
    "absurd": (["-n", "2000000"], None, "p.jsonl", "-n must be at most 1,000,000, got 2,000,000"),
    "locale": (["-n", "5", "--locale", "xx_YY"], None, "p.jsonl", "unknown locale 'xx_YY'; valid: am_ET, ar_EG, ar_SA"),
    "seed": (["-n", "5", "--seed", "-1"], None, "p.jsonl", "--seed must not be negative, got -1"),
    "suffix": (["-n", "5"], None, "p.txt", "unsupported output suffix '.txt'"),
    "sum": (
        ["-n", "5", "--mix", MIX],
        {"depression": 0.5, "anxiety": 0.3},
        "p.jsonl",
        "field 'problems': proportions add up to 0.8, not 1",
    ),
    "problem": (
        ["-n", "5", "--mix", MIX],
        {"depresion": 1.0},
        "p.jsonl",
        "field 'problems.depresion': unknown problem; valid: alcohol_use, anxiety",
    ),
    "share": (
        ["-n", "5", "--mix", MIX],
        {"depression": 1.2, "anxiety": -0.2},
        "p.jsonl",
        "field 'problems.anxiety': proportion must be between 0 and 1, got -0.2",
    ),
    "native": (
        ["-n", "5", "--locale", "am_ET", "--native-text-only"],
        None,
        "p.jsonl",
        "locale 'am_ET': no text pools in 'am'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SAMPLES))
def test_bad_sample_input_gets_one_line_exit_2_and_nothing_written(tmp_path: Path, case: str) -> None:
    args, mix, name, message = BAD_SAMPLES[case]
    out_dir = tmp_path / "out"
    if mix is not None:
        args = [_mix(tmp_path, mix) if a == MIX else a for a in args]
    code, out, err = run("personas", "sample", *args, "--out", str(out_dir / name))
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in out + err
    assert not out_dir.exists()


def test_sample_refuses_to_overwrite_without_the_flag(tmp_path: Path) -> None:
    target = tmp_path / "p.jsonl"
    target.write_text("keep me\n")
    code, _, err = run("personas", "sample", "-n", "3", "--out", str(target))
    assert code == 2 and "already exists; add --overwrite" in err
    assert target.read_text() == "keep me\n"
    code, _, err = run("personas", "sample", "-n", "3", "--out", str(target), "--overwrite")
    assert code == 0, err
    assert len(target.read_text().splitlines()) == 3


def test_stats_prints_the_mix_and_its_diversity(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    assert run("personas", "sample", "-n", "300", "--out", str(path), "--locale", "sw", "--locale", "en_GB")[0] == 0
    code, out, err = run("personas", "stats", str(path), "--json")
    assert code == 0, err
    figures = json.loads(out)
    assert figures["personas"] == 300
    for field in ("problem", "phq9 band", "gad7 band", "stage of change", "style", "locale", "risk"):
        assert sum(figures["mix"][field].values()) == 300
    assert set(figures["mix"]["locale"]) == {"sw", "en_GB"}
    assert set(figures["mix"]["gender"]) <= {"female", "male", "nonbinary"}
    assert set(figures["mix"]["problem"]) <= set(PROBLEMS)
    for value in figures["diversity"]["normalised_entropy"].values():
        assert 0.0 <= value <= 1.0
    assert figures["diversity"]["unique_conceptualizations"] > 0.95
    assert figures["diversity"]["repeated_personas"] == 0
    code, text, _ = run("personas", "stats", str(path))
    assert code == 0
    for heading in ("problem", "phq9 band", "stage of change", "style", "locale", "risk", "diversity"):
        assert heading in text
    assert "unique conceptualizations" in text


def test_stats_figures_for_a_known_file(tmp_path: Path) -> None:
    one = persona_record(id="one")
    two = persona_record(id="two", style="upset")
    stats = persona_stats(load_personas(write_personas(tmp_path / "two.yaml", [one, two]), ()).personas)
    assert stats.count == 2
    assert stats.ordered("style") == {"plain": 1, "upset": 1}
    assert stats.entropy["problem"] == 0.0
    assert stats.entropy["style"] == pytest.approx(0.386852, abs=1e-6)  # log 2 / log 6
    assert stats.repeated_personas == 0 and stats.unique_conceptualizations == 0.0


def test_validate_adds_coherence_notes_and_fails_on_them_only_when_strict(tmp_path: Path) -> None:
    risky = persona_record(id="risky", risk={"level": "high", "factors": ["a plan"]})
    risky["severity"] = {"phq9": 4, "gad7": 3}
    twin = persona_record(id="twin")
    chatty = persona_record(id="chatty", history="Reach Alex at alex.m@example.org or 0117 496 0123.")
    path = write_personas(tmp_path / "p.yaml", [persona_record(id="fine"), risky, twin, chatty])
    code, out, err = run("personas", "validate", str(path))
    assert code == 0
    assert out.startswith("ok: 4 personas in 1 file(s); 4 coherence note(s)")
    lines = err.strip().splitlines()
    assert lines == [
        f"note: {path}, record 2, field 'risk.level': 'high' risk with PHQ-9 4, below 10",
        f"note: {path}, record 3, field 'id': identical to persona 'fine' apart from the id",
        f"note: {path}, record 4, field 'history': looks like an e-mail address ('alex.m@example.org'); "
        "personas should hold no real contact details",
        f"note: {path}, record 4, field 'history': looks like a phone number ('0117 496 0123'); "
        "personas should hold no real contact details",
    ]
    code, _, err = run("personas", "validate", str(path), "--strict")
    assert code == 2 and len(err.strip().splitlines()) == 4 and err.startswith("error: ")


# -- the data files -------------------------------------------------------------------------------


def test_every_distribution_file_documents_its_source_and_stays_out_of_the_persona_loader(
    dist: Distributions,
) -> None:
    files = sorted(dist.folder.rglob("*.yaml"))
    assert {f.name for f in files} >= {"problem_mix.yaml", "severity.yaml", "risk.yaml", "locales.yaml", "en.yaml"}
    for path in files:
        source = yaml.safe_load(path.read_text(encoding="utf-8"))["source"]
        assert isinstance(source, str) and len(source) > 150, path
    assert all(f.parent == SHIPPED_PERSONAS for f in persona_files(SHIPPED_PERSONAS))
    assert dist.folder == (SHIPPED_PERSONAS / "distributions").resolve()


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "risk.yaml",
            "mild: {none: 0.70, low: 0.30, moderate: 0.0, high: 0.0}",
            "mild: {none: 0.70, low: 0.25, moderate: 0.05, high: 0.0}",
            "risk.yaml, record 1, field 'by_phq9_band': by_phq9_band.mild allows elevated risk below PHQ-9 10",
        ),
        (
            "severity.yaml",
            "gad7: {minimal: 0.0, mild: 0.15, moderate: 0.40, severe: 0.45}",
            "gad7: {minimal: 0.0, mild: 0.15, moderate: 0.40}",
            "severity.yaml, record 1: Value error, problems.anxiety.gad7 must give a weight to each band",
        ),
        (
            "problem_mix.yaml",
            "  smoking: 0.04",
            "  smoking: 0.14",
            "problem_mix.yaml, record 1, field 'problems': proportions add up to 1.1, not 1",
        ),
        (
            "conceptualization.yaml",
            "core_beliefs: {helpless: 0.70, unlovable: 0.15, worthless: 0.15}",
            "core_beliefs: {helpless: 0.70, unloved: 0.15, worthless: 0.15}",
            "names unknown values ['unloved']",
        ),
    ],
)
def test_a_broken_distribution_file_is_refused_with_file_and_field(
    tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    folder = tmp_path / "distributions"
    shutil.copytree(load_distributions().folder, folder)
    text = (folder / file).read_text(encoding="utf-8")
    assert old in text
    (folder / file).write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(DataFileError) as caught:
        load_distributions(folder)
    assert str(caught.value).startswith(str(folder)) and message in str(caught.value)
