"""Corpora in other languages: translate a finished run turn by turn behind quality gates
(`counselsynth augment`), or localize personas for native generation (`generate --language`)."""
