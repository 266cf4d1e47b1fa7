"""The real-data tests cannot pass in CI by skipping: without the data they fail there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_real_data_tests_fail_in_ci_when_the_data_is_missing(tmp_path: Path) -> None:
    realdata = Path(__file__).parent / "test_fidelity_realdata.py"
    base = {k: v for k, v in os.environ.items() if k != "CI"}
    base["COUNSELSYNTH_SHARED_DATA"] = str(tmp_path / "missing")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(realdata)]
    local = subprocess.run(command, env=base, capture_output=True, text=True, timeout=300)
    assert local.returncode == 0 and "skipped" in local.stdout, local.stdout
    ci = subprocess.run(command, env={**base, "CI": "true"}, capture_output=True, text=True, timeout=300)
    assert ci.returncode != 0, ci.stdout
    assert "CI is set but the real data is missing" in ci.stdout
