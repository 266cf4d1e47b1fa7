"""counselsynth: synthetic, annotated, multi-session counseling dialogues."""

import os

# litellm fetches a model price map at import unless told to use its bundled copy; this tool
# must never touch the network unless a remote model is asked for.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from counselsynth.engines import Engine, OfflineEngine, Reply, Request  # noqa: E402
from counselsynth.errors import CounselsynthError, DataFileError, InputError  # noqa: E402
from counselsynth.frameworks import FrameworkCatalog, load_catalog  # noqa: E402
from counselsynth.graph import build_graph  # noqa: E402
from counselsynth.models import (  # noqa: E402
    Case,
    Critique,
    Persona,
    RunManifest,
    Session,
    TherapyFramework,
    Turn,
)
from counselsynth.personas import load_personas  # noqa: E402
from counselsynth.prompts import PromptLibrary  # noqa: E402
from counselsynth.runner import Generation, RunSettings  # noqa: E402

__version__ = "0.1.0"

__all__ = [
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
