"""The shipped MI coder, checked on real data (skipped without ../shared/data, failed without it in CI).

- Refitted from AnnoMI's high-quality transcripts, it is the shipped file, weights and all.
- On AnnoMI's low-quality transcripts, held out from it, labels and text agree (kappa >= 0.35);
  with the same labels shuffled among the turns they do not (kappa <= 0.1, failed).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED_DATA, needs_shared_data
from test_coder import _shuffle_codes

from counselsynth.coder import fit_coder, load_coder
from counselsynth.coder.agreement import code_agreement
from counselsynth.fidelity.check import run_check
from counselsynth.fidelity.corpora import import_corpus

ANNOMI = SHARED_DATA / "annomi" / "AnnoMI-full.csv"


@pytest.fixture(scope="module", autouse=True)
def real_data() -> None:
    needs_shared_data()  # module-scoped and autouse: before the fixtures that read the data


@pytest.fixture(scope="module")
def annomi(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("annomi")
    for quality in ("high", "low"):
        import_corpus("annomi", ANNOMI, work / quality, quality)
    return {"high": work / "high", "low": work / "low"}


def test_the_shipped_mi_coder_refits_exactly_from_annomi_high(annomi: dict[str, Path]) -> None:
    assert fit_coder(annomi["high"], name="mi").model_dump() == load_coder("mi").model_dump()


def test_held_out_annomi_low_agrees_and_its_shuffled_labels_fail(annomi: dict[str, Path], tmp_path: Path) -> None:
    coder = load_coder("mi")
    shuffled_dir = _shuffle_codes(annomi["low"], tmp_path / "shuffled")
    held_out = code_agreement(annomi["low"], coder)
    shuffled = code_agreement(shuffled_dir, coder)
    assert held_out.kappa >= 0.35 and held_out.passed and not held_out.coarse
    assert shuffled.kappa <= 0.1 and not shuffled.passed
    # The fidelity check reports the same figures as its code_agreement metric.
    for corpus, kappa, verdict in ((annomi["low"], held_out.kappa, "pass"), (shuffled_dir, shuffled.kappa, "fail")):
        report = run_check(corpus, "annomi-high")
        (metric,) = [m for m in report.metrics if m.name == "code_agreement"]
        assert (metric.value, metric.verdict, metric.band) == (kappa, verdict, (held_out.floor, 1.0))
