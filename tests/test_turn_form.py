"""The turn-form model: fitted on real data, drawn from by the planner and every turn, followed by
the offline engine, and the fidelity check's structure axis passes by construction."""

from __future__ import annotations

import json
import math
import random
import statistics
from collections import Counter
from pathlib import Path

import pytest
from conftest import SHARED_DATA, generate, needs_shared_data, persona_record, run_cli, write_personas
from scipy.stats import ks_2samp

from counselsynth.agents.planner import allocate
from counselsynth.errors import DataFileError
from counselsynth.fidelity.corpora import import_corpus
from counselsynth.fidelity.form_fit import fit_form
from counselsynth.frameworks import FrameworkCatalog, load_catalog
from counselsynth.models import Case
from counselsynth.turnform import ANY, TurnForm, load_form
from counselsynth.wordcount import word_count

SUPPORT = Path(__file__).resolve().parents[1] / "therapy_frameworks" / "support"


@pytest.fixture(scope="module")
def mi_corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    folder = tmp_path_factory.mktemp("form")
    personas = write_personas(folder / "personas.yaml", [persona_record(id=f"p{i}", framework="mi") for i in range(24)])
    return generate(personas, folder / "run", seed=3)


def _expanded(histogram: dict[int, int]) -> list[int]:
    return [n for n, count in histogram.items() for _ in range(count) if n > 0]


def _form(framework: str) -> TurnForm:
    folder = SUPPORT if framework == "esc" else SUPPORT.parent
    return TurnForm.model_validate_json((folder / "forms" / f"{framework}.json").read_text())


def test_drawn_targets_follow_the_fitted_distribution(mi_corpus: list[Case]) -> None:
    form = _form("mi")
    compiled = load_form("mi", load_catalog().folders)
    rng = random.Random(5)
    for code, label in (
        ("open_question", "open_question"),
        ("other", "other"),
        ("give_information", "give_information"),
    ):
        drawn = [compiled.counselor_words(code, None, rng) for _ in range(3000)]
        fitted = _expanded(form.counselor[label])
        assert ks_2samp(drawn, fitted).pvalue > 0.01, code
    # The same test tells distributions apart: "other" (mostly backchannels) is not open questions.
    others = [compiled.counselor_words("other", None, rng) for _ in range(3000)]
    assert ks_2samp(others, _expanded(form.counselor["open_question"])).pvalue < 1e-6
    # Through the pipeline: the targets the generated turns were asked for, by class.
    targets: dict[str, list[int]] = {}
    for case in mi_corpus:
        for session in case.sessions:
            for turn in session.turns:
                notes = turn.annotations
                if turn.speaker == "counselor" and not notes.safety_step and notes.target_words is not None:
                    targets.setdefault(form.code_class[notes.code or ""], []).append(notes.target_words)
                elif turn.speaker == "client" and notes.target_words is not None:
                    targets.setdefault(f"client/{notes.valence}", []).append(notes.target_words)
    checked = 0
    for label, values in targets.items():
        if len(values) < 200:
            continue
        side, _, key = label.rpartition("/")
        fitted = _expanded(form.client[key] if side == "client" else form.counselor[key])
        assert ks_2samp(values, fitted).pvalue > 0.001, label
        checked += 1
    assert checked >= 4


def test_offline_turns_have_their_target_length_and_backchannels(mi_corpus: list[Case]) -> None:
    short = Counter[str]()
    total = 0
    for case in mi_corpus:
        for session in case.sessions:
            for position, turn in enumerate(session.turns):
                notes = turn.annotations
                total += 1
                short[turn.speaker] += word_count(turn.text) <= 2
                opening = position == 0 or (turn.speaker == "client" and position == 1)
                if notes.safety_step or opening or notes.safety_events:
                    continue
                target = notes.target_words or 0
                # A minimal turn is the phrasebank's shortest fitting line ("Yeah." for 2 words).
                assert word_count(turn.text) == target or 1 <= word_count(turn.text) <= target <= 2, turn.text
                assert notes.flags == []
    form = _form("mi")
    turns = Counter(t.speaker for c in mi_corpus for s in c.sessions for t in s.turns)
    for speaker in ("counselor", "client"):
        assert abs(short[speaker] / turns[speaker] - form.short_share[speaker]) < 0.06


def test_session_lengths_of_a_corpus_vary_within_the_phase_ranges(mi_corpus: list[Case]) -> None:
    framework = load_catalog().get("mi")
    lengths = []
    for case in mi_corpus:
        for session in case.sessions:
            planned = {p.phase: p.exchanges for p in session.plan}
            for phase in framework.phases:
                low, high = phase.exchanges
                assert low <= planned[phase.id] <= high + 6  # the safety protocol may lengthen the last
            counselor = sum(t.speaker == "counselor" for t in session.turns)
            assert counselor == sum(planned.values())
            lengths.append(counselor)
    assert len(set(lengths)) >= 15
    assert statistics.stdev(math.log(n) for n in lengths) > 0.5  # AnnoMI-high: 0.85


def test_allocate_shares_a_drawn_length_in_the_planned_proportions() -> None:
    phases = load_catalog().get("mi").phases  # ranges [1, 50], [1, 33], [2, 75], [1, 33]
    plan = allocate(40, phases, {"engaging": 10, "focusing": 5, "evoking": 20, "planning": 5})
    assert [n for _, n in plan] == [10, 5, 20, 5]
    assert sum(n for _, n in allocate(3, phases, {})) == 5  # clipped to the ranges' minimum
    assert [n for _, n in allocate(500, phases, {})] == [50, 33, 75, 33]
    skewed = allocate(100, phases, {"engaging": 50, "focusing": 1, "evoking": 1, "planning": 1})
    assert dict(skewed)["engaging"] == 50 and sum(n for _, n in skewed) == 100


def test_policy_form_fits_the_shipped_forms_from_the_real_data(tmp_path: Path) -> None:
    needs_shared_data()
    annomi = tmp_path / "annomi-high"
    import_corpus("annomi", SHARED_DATA / "annomi" / "AnnoMI-full.csv", annomi, "high")
    for framework in ("mi", "cbt", "pct"):
        out = tmp_path / f"{framework}.json"
        code, stdout, stderr = run_cli("policy", "form", str(annomi), "--framework", framework, "--out", str(out))
        assert code == 0, stderr
        assert json.loads(out.read_text()) == _form(framework).model_dump(mode="json")
    esconv = tmp_path / "esconv"
    import_corpus("esconv", SHARED_DATA / "esconv" / "train.jsonl", esconv, None)
    out = tmp_path / "esc.json"
    code, _, stderr = run_cli("policy", "form", str(esconv), "--frameworks-dir", str(SUPPORT), "--out", str(out))
    assert code == 0, stderr
    shipped = _form("esc")
    assert json.loads(out.read_text()) == shipped.model_dump(mode="json")
    # ESConv splits messages: a fifth of turns continue the same speaker's; AnnoMI almost never.
    assert 0.15 < shipped.continuation["counselor"] < 0.3 and _form("mi").continuation["counselor"] < 0.01
    assert shipped.reference is not None and "CC BY-NC" in shipped.reference.license


def test_a_generated_corpus_fits_a_form_on_its_own_codes(mi_corpus: list[Case], catalog: FrameworkCatalog) -> None:
    form = fit_form(mi_corpus, catalog.get("mi"), "generated")
    assert form.reference is None and "its own codes" in form.source
    assert form.code_class["open_question"] == "open_question"
    assert sum(form.session_exchanges[0].values()) == len(mi_corpus)
    assert set(form.client) == {ANY, "change", "neutral", "sustain"}


def test_a_broken_form_file_is_named_with_its_record_and_field(tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    forms.mkdir()
    record = _form("mi").model_dump(mode="json")
    del record["counselor"][ANY]
    (forms / "mi.json").write_text(json.dumps(record))
    with pytest.raises(DataFileError) as error:
        load_form("mi", [tmp_path])
    assert str(forms / "mi.json") in str(error.value) and "counselor" in str(error.value)
    record = _form("mi").model_dump(mode="json")
    (forms / "cbt.json").write_text(json.dumps(record))
    with pytest.raises(DataFileError, match="framework.*expected 'cbt'"):
        load_form("cbt", [tmp_path])
