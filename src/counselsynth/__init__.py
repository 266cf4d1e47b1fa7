"""counselsynth: synthetic, annotated, multi-session counseling dialogues.

The public names below are loaded on first use (PEP 562), so `import counselsynth` stays cheap and
loads neither LangGraph nor litellm, datasets or the plotting stack, and changes no environment
variable: a command pays only for what it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from counselsynth.lazy import lazy_names

if TYPE_CHECKING:
    from counselsynth.engines import Engine, OfflineEngine, Reply, Request
    from counselsynth.errors import CounselsynthError, DataFileError, InputError
    from counselsynth.frameworks import FrameworkCatalog, load_catalog
    from counselsynth.graph import build_graph
    from counselsynth.models import Case, Critique, Persona, RunManifest, Session, TherapyFramework, Turn
    from counselsynth.personas import load_personas
    from counselsynth.prompts import PromptLibrary
    from counselsynth.runner import Generation
    from counselsynth.settings import RunSettings

__version__ = "0.1.0"

# Where each public name lives; `lazy_names` imports the module on first access.
_HOMES = {
    "Engine": "counselsynth.engines",
    "OfflineEngine": "counselsynth.engines",
    "Reply": "counselsynth.engines",
    "Request": "counselsynth.engines",
    "CounselsynthError": "counselsynth.errors",
    "DataFileError": "counselsynth.errors",
    "InputError": "counselsynth.errors",
    "FrameworkCatalog": "counselsynth.frameworks",
    "load_catalog": "counselsynth.frameworks",
    "build_graph": "counselsynth.graph",
    "Case": "counselsynth.models",
    "Critique": "counselsynth.models",
    "Persona": "counselsynth.models",
    "RunManifest": "counselsynth.models",
    "Session": "counselsynth.models",
    "TherapyFramework": "counselsynth.models",
    "Turn": "counselsynth.models",
    "load_personas": "counselsynth.personas",
    "PromptLibrary": "counselsynth.prompts",
    "Generation": "counselsynth.runner",
    "RunSettings": "counselsynth.settings",
}

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

__getattr__, __dir__ = lazy_names(__name__, _HOMES)
