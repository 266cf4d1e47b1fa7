"""The real-data tests cannot pass in CI by skipping: without the data they fail there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Every module named *realdata.py is checked, so a new one cannot skip silently in CI either.
REAL_DATA_MODULES = sorted(p.name for p in Path(__file__).parent.glob("test_*realdata.py"))
assert len(REAL_DATA_MODULES) >= 2


@pytest.mark.parametrize("module", REAL_DATA_MODULES)
def test_real_data_tests_fail_in_ci_when_the_data_is_missing(tmp_path: Path, module: str) -> None:
    realdata = Path(__file__).parent / module
    base = {k: v for k, v in os.environ.items() if k != "CI"}
    base["COUNSELSYNTH_SHARED_DATA"] = str(tmp_path / "missing")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(realdata)]
    local = subprocess.run(command, env=base, capture_output=True, text=True, timeout=300)
    assert local.returncode == 0 and "skipped" in local.stdout, local.stdout
    ci = subprocess.run(command, env={**base, "CI": "true"}, capture_output=True, text=True, timeout=300)
    assert ci.returncode != 0, ci.stdout
    assert "CI is set but the real data is missing" in ci.stdout
