"""Client personas: loading and validating persona files."""

from counselsynth.personas.loading import PersonaSet, load_personas, persona_files

__all__ = ["PersonaSet", "load_personas", "persona_files"]
