"""The public API is a promise: changing it must be a deliberate edit of this list."""

import json
import os
import subprocess
import sys

import counselsynth

PUBLIC = [
    "Case",
    "CounselsynthError",
    "Critique",
    "DataFileError",
    "Engine",
    "FrameworkCatalog",
    "Generation",
    "InputError",
    "OfflineEngine",
    "Persona",
    "PromptLibrary",
    "Reply",
    "Request",
    "RunManifest",
    "RunSettings",
    "Session",
    "TherapyFramework",
    "Turn",
    "__version__",
    "build_graph",
    "load_catalog",
    "load_personas",
]


def test_public_names_are_locked() -> None:
    assert sorted(counselsynth.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert hasattr(counselsynth, name)


HEAVY = ("langgraph", "litellm", "datasets", "pandas", "pyarrow", "sklearn", "matplotlib")


def _fresh_python(code: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, timeout=120
    )
    return result.stdout


def _heavy_loaded_after(statement: str) -> list[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    return sorted(set(json.loads(_fresh_python(code))) & set(HEAVY))


def test_importing_the_package_loads_no_heavy_library() -> None:
    assert _heavy_loaded_after("import counselsynth") == []


def test_importing_the_package_leaves_the_environment_alone() -> None:
    code = "import os; before = dict(os.environ); import counselsynth; print(dict(os.environ) == before)"
    assert _fresh_python(code).strip() == "True"


def test_the_cli_app_loads_no_heavy_library_until_a_command_runs() -> None:
    assert _heavy_loaded_after("import counselsynth.cli") == []


def test_public_names_load_on_first_use() -> None:
    assert _heavy_loaded_after("import counselsynth; counselsynth.Generation") == ["langgraph"]


def test_litellm_is_told_to_use_its_bundled_price_map_where_it_is_imported() -> None:
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_LOCAL_MODEL_COST_MAP"}
    code = "import os; from counselsynth.engines import llm; llm._litellm(); print(os.environ[{!r}])".format(
        "LITELLM_LOCAL_MODEL_COST_MAP"
    )
    assert _fresh_python(code, env).strip() == "True"
