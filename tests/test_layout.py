"""The shape of the package: small modules, one error tree."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import counselsynth
from counselsynth import errors
from counselsynth.errors import CounselsynthError

SRC = Path(counselsynth.__file__).parent
MAX_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_error_the_tool_reports_is_defined_in_errors() -> None:
    for module in pkgutil.walk_packages(counselsynth.__path__, "counselsynth."):
        if not module.name.startswith("counselsynth.testing") and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    homes = {cls.__name__: cls.__module__ for cls in _subclasses(CounselsynthError)}
    assert {name: home for name, home in homes.items() if home != errors.__name__} == {}


def _loaded_after(modules: str, prefix: str) -> list[str]:
    code = f"import json, sys, {modules}; print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefix!r}))))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return list(json.loads(result.stdout))


def test_generation_and_export_do_not_depend_on_the_translation_feature() -> None:
    modules = "counselsynth.runner, counselsynth.export.bundle, counselsynth.export.publish"
    assert _loaded_after(modules, "counselsynth.augment") == []


def test_the_product_never_imports_its_test_doubles() -> None:
    modules = "counselsynth.cli, counselsynth.runner, counselsynth.augment.run, counselsynth.export.publish"
    assert _loaded_after(modules, "counselsynth.testing") == []


def test_the_command_line_loads_no_heavy_library_until_a_command_runs() -> None:
    # `counselsynth --help` imports counselsynth.cli and nothing more; see bench/cli_start.py.
    for heavy in ("pydantic", "yaml", "numpy", "litellm", "langgraph", "datasets"):
        assert _loaded_after("counselsynth.cli", heavy) == [], heavy
