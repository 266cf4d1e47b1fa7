"""Fidelity on unannotated and foreign corpora: n/a where labels or languages do not compare, and scope."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import generate, persona_record, write_personas
from conftest import run_cli as run

from counselsynth.fidelity.settings import check_settings, metric_specs

CODED = [name for name, spec in metric_specs().items() if spec.counselor_coded]


@pytest.fixture(scope="module")
def mi_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mi")
    records = [persona_record(id=f"client_{i}", framework="mi") for i in range(10)]
    generate(write_personas(folder / "personas.yaml", records), folder / "run")
    return folder / "run"


def _uncode(run_dir: Path, out: Path, every: int) -> Path:
    """A copy of a run whose every `every`-th counselor turn is coded not_annotated."""
    out.mkdir()
    shutil.copy(run_dir / "manifest.json", out / "manifest.json")
    lines = []
    seen = 0
    for line in (run_dir / "dialogues.jsonl").read_text().splitlines():
        case = json.loads(line)
        for session in case["sessions"]:
            for turn in session["turns"]:
                if turn["speaker"] == "counselor":
                    if seen % every == 0:
                        turn["annotations"].update(code="not_annotated", miti=None)
                    seen += 1
        lines.append(json.dumps(case))
    (out / "dialogues.jsonl").write_text("\n".join(lines) + "\n")
    return out


def _check(corpus: Path, out: Path, *extra: str) -> dict[str, Any]:
    code, _, stderr = run("fidelity", str(corpus), "--out", str(out), *extra)
    assert code == 0, stderr
    report: dict[str, Any] = json.loads((out / "fidelity.json").read_text())
    return report


def test_an_unannotated_corpus_gets_na_not_fail_on_every_behaviour_metric(mi_run: Path, tmp_path: Path) -> None:
    corpus = _uncode(mi_run, tmp_path / "bare", every=1)
    report = _check(corpus, tmp_path / "f", "--reference", "annomi-high")
    metrics = {m["name"]: m for m in report["metrics"]}
    assert len(CODED) == 11
    for name in CODED:
        assert metrics[name]["verdict"] == "n/a", metrics[name]
        assert metrics[name]["note"].startswith("100% of the corpus's counselor turns are not annotated")
    # Left out of the multiple-testing count, and never named as a direction.
    assert report["method"]["tested"] == sum(m["verdict"] != "n/a" for m in report["metrics"])
    assert "behaviour" not in report["off_axes"]
    assert not any("reflections" in line or "questions" in line for line in report["summary"])
    # The same corpus with its codes: the behaviour metrics are tested.
    annotated = {m["name"]: m for m in _check(mi_run, tmp_path / "g", "--reference", "annomi-high")["metrics"]}
    assert annotated["reflection_share"]["verdict"] != "n/a"
    assert report["method"]["tested"] < sum(m["verdict"] != "n/a" for m in annotated.values())


def test_a_few_unannotated_turns_are_left_out_of_the_code_shares(mi_run: Path, tmp_path: Path) -> None:
    assert check_settings().max_unannotated_share == 0.2
    corpus = _uncode(mi_run, tmp_path / "some", every=10)
    metrics = {m["name"]: m for m in _check(corpus, tmp_path / "f", "--reference", str(mi_run))["metrics"]}
    full = {m["name"]: m for m in _check(mi_run, tmp_path / "g", "--reference", str(mi_run))["metrics"]}
    for name in CODED:
        assert metrics[name]["verdict"] != "n/a", metrics[name]
    # Uncoding a tenth of the turns at random positions barely moves the shares among coded turns.
    assert abs(metrics["reflection_share"]["value"] - full["reflection_share"]["value"]) < 0.05
    # Above the share the reference side is named.
    many = _uncode(mi_run, tmp_path / "many", every=3)
    metrics = {m["name"]: m for m in _check(mi_run, tmp_path / "h", "--reference", str(many))["metrics"]}
    assert metrics["r_to_q"]["verdict"] == "n/a"
    assert metrics["r_to_q"]["note"].startswith("33% of the reference's counselor turns are not annotated")


@pytest.fixture(scope="module")
def two_frameworks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    records = [persona_record(id=f"c{i}", framework="mi" if i % 2 else "cbt") for i in range(12)]
    generate(write_personas(folder / "personas.yaml", records), folder / "run", sessions=1)
    return folder / "run"


def test_the_verdict_states_its_scope_and_warns_on_unlike_frameworks(two_frameworks: Path, tmp_path: Path) -> None:
    out = two_frameworks / "fidelity"
    code, stdout, stderr = run("fidelity", str(two_frameworks), "--reference", "annomi-high", "--out", str(out))
    assert code == 0, stderr
    assert "warning: the corpus holds framework cbt and the reference mi" in stderr
    report = json.loads((out / "fidelity.json").read_text())
    assert report["scope"] == (
        "compared 'run' (12 cases in 'en'; frameworks cbt (6 sessions), mi (6 sessions)) with the reference "
        "'annomi-high' (110 cases in 'en'; frameworks mi (110 sessions))"
    )
    assert report["scope"] in stdout and len(report["warnings"]) == 1
    assert "**Warning:** the corpus holds framework cbt" in (out / "fidelity.md").read_text()
    # The dataset card says what the verdict covers.
    assert run("export", str(two_frameworks), "--out", str(tmp_path / "ds"), "--format", "jsonl")[0] == 0
    card = (tmp_path / "ds" / "README.md").read_text()
    assert f"The verdict holds for what was compared: {report['scope']}." in card
    assert "**Warning:** the corpus holds framework cbt" in card
    # --framework keeps the cases of one framework: no warning, and the scope says so.
    code, _, stderr = run(
        "fidelity", str(two_frameworks), "--reference", "annomi-high", "--out", str(tmp_path / "f"), "--framework", "mi"
    )
    assert code == 0 and "warning" not in stderr
    report = json.loads((tmp_path / "f" / "fidelity.json").read_text())
    assert "(6 cases in 'en'; frameworks mi (6 sessions))" in report["scope"] and report["warnings"] == []


def test_reference_language_selects_the_cases_of_a_reference_folder(tmp_path: Path) -> None:
    records = [persona_record(id=f"en{i}", framework="mi") for i in range(6)]
    records += [persona_record(id=f"es{i}", framework="mi", language="es") for i in range(6)]
    generate(write_personas(tmp_path / "p.yaml", records), tmp_path / "run", sessions=1)
    corpus = tmp_path / "run"
    code, _, stderr = run(
        "fidelity", str(corpus), "--reference", str(corpus), "--language", "es", "--out", str(tmp_path / "a")
    )
    assert code == 2
    assert "mixes languages (en: 6 cases, es: 6 cases); check one at a time with --reference-language" in stderr
    report = _check(
        corpus, tmp_path / "b", "--reference", str(corpus), "--language", "es", "--reference-language", "es"
    )
    assert report["overall"] == "pass" and "(6 cases in 'es'" in report["scope"]
    assert all(m["value"] == m["reference"] for m in report["metrics"] if m["verdict"] != "n/a")
    report = _check(
        corpus, tmp_path / "c", "--reference", str(corpus), "--language", "es", "--reference-language", "all"
    )
    assert "(12 cases in 'en+es'" in report["scope"]
    assert {m["name"]: m for m in report["metrics"]}["distinct_1"]["verdict"] == "n/a"
    code, _, stderr = run(
        "fidelity", str(corpus), "--reference", "annomi-high", "--language", "es", "--reference-language", "es",
        "--out", str(tmp_path / "d"),
    )  # fmt: skip
    assert code == 2 and "the reference profile 'annomi-high' is in 'en', not 'es'" in stderr


def test_c2st_tokenizes_unspaced_scripts_by_character() -> None:
    """Two Chinese corpora that use different characters, every clause written once: only
    character tokens tell them apart (a whole-clause token never repeats)."""
    import random

    from counselsynth.fidelity.c2st import classifier_test
    from counselsynth.fidelity.language import SampledSession

    def corpus(alphabet: str, seed: int) -> list[SampledSession]:
        rng = random.Random(seed)
        sessions = []
        for number in range(30):
            turns = tuple(
                (speaker, "".join(rng.choice(alphabet) for _ in range(12)) + "。")
                for _ in range(4)
                for speaker in ("counselor", "client")
            )
            sessions.append(SampledSession(number, f"c{number}", turns))  # type: ignore[arg-type]
        return sessions

    result = classifier_test(
        corpus("我你他她们的是不了在有这个人来说", 1),
        corpus("天地日月山水火木金土风雨雪花草树", 2),
        max_per_side=400,
        folds=5,
        seed=0,
        replicates=200,
    )
    assert result.auc is not None and result.auc > 0.95


def test_plots_show_what_the_table_compares_on_readable_axes(mi_run: Path, tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    from counselsynth.fidelity import plots
    from counselsynth.fidelity.check import run_check

    report = run_check(mi_run, "annomi-high")
    by_name = {m.name: m for m in report.metrics}
    figure = plots.distributions_figure(report.corpus, report.reference, by_name)
    panels = dict(zip([name for name, *_ in plots.PANELS], figure.axes, strict=True))
    for name, axes in panels.items():
        texts = [t.get_text() for t in axes.texts]
        if by_name[name].verdict == "n/a":
            assert texts and texts[0].startswith("not compared:")
        else:
            assert not texts and axes.patches  # histograms, with labelled ticks on both axes
            assert [t for t in axes.get_yticklabels() if t.get_text().endswith("%")]
            assert len([t for t in axes.get_xticklabels() if t.get_text()]) >= 3, name
    plt.close(figure)
    # Across languages the word-count panels say why they are empty.
    es_run = tmp_path / "es"
    records = [persona_record(id=f"es{i}", framework="mi", language="es") for i in range(6)]
    generate(write_personas(tmp_path / "p.yaml", records), es_run, sessions=1)
    crossed = run_check(es_run, str(mi_run))
    figure = plots.distributions_figure(crossed.corpus, crossed.reference, {m.name: m for m in crossed.metrics})
    words_panel = figure.axes[[name for name, *_ in plots.PANELS].index("counselor_share_of_words")]
    assert words_panel.texts[0].get_text().startswith("not compared:")
    plt.close(figure)
    # The emotion arc shows the whole 1-5 scale and says which side has no emotion labels.
    arc = plots.emotion_arc_figure(report.corpus, report.reference)
    assert arc is not None
    assert all(axes.get_ylim() == (1.0, 5.0) for axes in arc.axes)
    assert arc.get_suptitle() == "The reference has no client emotion labels: only the corpus is drawn"
    plt.close(arc)


def test_policy_fit_skips_unannotated_counselor_turns(mi_run: Path, tmp_path: Path) -> None:
    corpus = _uncode(mi_run, tmp_path / "some", every=10)
    counselor_turns = uncoded = 0
    for line in (corpus / "dialogues.jsonl").read_text().splitlines():
        for session in json.loads(line)["sessions"]:
            for turn in session["turns"]:
                if turn["speaker"] == "counselor":
                    counselor_turns += 1
                    uncoded += turn["annotations"]["code"] == "not_annotated"
    code, stdout, stderr = run("policy", "fit", str(corpus), "--out", str(tmp_path / "mi.json"))
    assert code == 0, stderr
    assert f"and {counselor_turns - uncoded} counselor turns" in stdout


def test_the_coder_reads_only_annotated_counselor_turns(mi_run: Path, tmp_path: Path) -> None:
    from counselsynth.coder.fit import coded_turns

    corpus = _uncode(mi_run, tmp_path / "some", every=10)
    _, all_units = coded_turns(mi_run)
    _, units = coded_turns(corpus)
    uncoded = sum(
        turn["annotations"]["code"] == "not_annotated"
        for line in (corpus / "dialogues.jsonl").read_text().splitlines()
        for session in json.loads(line)["sessions"]
        for turn in session["turns"]
    )
    assert uncoded > 0 and len(units.texts) == len(all_units.texts) - uncoded
    assert units.skipped == all_units.skipped
