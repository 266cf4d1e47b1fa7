"""Client personas: load, validate, sample, import, and describe persona files.

The names below load on first use, so a command that only reads a persona file does not import
Faker and the sampler's tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from counselsynth.lazy import lazy_names

if TYPE_CHECKING:
    from counselsynth.personas.coherence import CoherenceNote, coherence_notes
    from counselsynth.personas.distributions import Distributions, load_distributions
    from counselsynth.personas.importers import ImportResult, import_personas
    from counselsynth.personas.loading import PersonaSet, load_personas, persona_files
    from counselsynth.personas.privacy import contact_details
    from counselsynth.personas.sampling import PersonaSampler, SampleResult, load_mix, sample_personas
    from counselsynth.personas.stats import PersonaStats, persona_stats
    from counselsynth.personas.tables import ProblemMix
    from counselsynth.personas.writer import write_personas

_HOMES = {
    "CoherenceNote": "counselsynth.personas.coherence",
    "Distributions": "counselsynth.personas.distributions",
    "ImportResult": "counselsynth.personas.importers",
    "PersonaSampler": "counselsynth.personas.sampling",
    "PersonaSet": "counselsynth.personas.loading",
    "PersonaStats": "counselsynth.personas.stats",
    "ProblemMix": "counselsynth.personas.tables",
    "SampleResult": "counselsynth.personas.sampling",
    "coherence_notes": "counselsynth.personas.coherence",
    "contact_details": "counselsynth.personas.privacy",
    "import_personas": "counselsynth.personas.importers",
    "load_distributions": "counselsynth.personas.distributions",
    "load_mix": "counselsynth.personas.sampling",
    "load_personas": "counselsynth.personas.loading",
    "persona_files": "counselsynth.personas.loading",
    "persona_stats": "counselsynth.personas.stats",
    "sample_personas": "counselsynth.personas.sampling",
    "write_personas": "counselsynth.personas.writer",
}

__all__ = [
    "CoherenceNote",
    "Distributions",
    "ImportResult",
    "PersonaSampler",
    "PersonaSet",
    "PersonaStats",
    "ProblemMix",
    "SampleResult",
    "coherence_notes",
    "contact_details",
    "import_personas",
    "load_distributions",
    "load_mix",
    "load_personas",
    "persona_files",
    "persona_stats",
    "sample_personas",
    "write_personas",
]
__getattr__, __dir__ = lazy_names(__name__, _HOMES)
