"""The public API is a promise: changing it must be a deliberate edit of this list."""

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


def test_importing_does_not_fetch_the_litellm_price_map() -> None:
    import os

    assert os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP") == "True"
