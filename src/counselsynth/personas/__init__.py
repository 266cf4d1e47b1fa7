"""Client personas: load, validate, sample, import, and describe persona files."""

from counselsynth.personas.coherence import CoherenceNote, coherence_notes
from counselsynth.personas.distributions import Distributions, ProblemMix, load_distributions
from counselsynth.personas.importers import ImportResult, import_personas
from counselsynth.personas.loading import PersonaSet, load_personas, persona_files
from counselsynth.personas.privacy import contact_details
from counselsynth.personas.sampling import PersonaSampler, SampleResult, load_mix, sample_personas
from counselsynth.personas.stats import PersonaStats, persona_stats
from counselsynth.personas.writer import write_personas

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
