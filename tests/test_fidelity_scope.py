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
    assert len(CODED) == 10
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
