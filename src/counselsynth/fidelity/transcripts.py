"""A real dialogue read from a source file, and its conversion into the project's record format.

Importers produce Transcripts; `corpora.write_corpus` turns them into Cases, so an imported corpus
is read by every command exactly like a generated one. Real sessions have no critique, plan,
summary or provenance: those fields stay empty, and the engine is "human".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from counselsynth.models import Case, Session, Turn

HUMAN_ENGINE = "human"


@dataclass
class Transcript:
    dialogue_id: str
    turns: list[Turn]
    persona: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    def case(self, source_id: str, framework: str, language: str = "en") -> Case:
        case_id = f"{source_id}-{self.dialogue_id}"
        return Case(
            case_id=case_id,
            persona_id=case_id,
            framework=framework,
            language=language,
            persona_language=language,
            engine=HUMAN_ENGINE,
            offline=False,
            model=source_id,
            seed=0,
            sessions=[Session(index=1, plan=[], turns=self.turns, critique=None)],
            persona={"source": source_id, **self.persona},
            warnings=self.warnings,
        )
