"""Pinned digests of deterministic output. Refactors must leave these bytes alone; a change that is
meant to alter the output updates the digest in the same commit and says why in its message."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import SHIPPED_PERSONAS, generate

from counselsynth.personas import sample_personas

OFFLINE_SEED_7 = "30eab55e5211d3990acfafe8111bd106b43b4a5e4e9b5cc822538702f6a619de"
SAMPLE_SEED_11 = "1e76a0cb995e2718314962dcee03ece7f346c91fb440c9ee30b73bb97d861e1a"


def test_offline_generation_of_the_shipped_personas_is_pinned(tmp_path: Path) -> None:
    generate(SHIPPED_PERSONAS, tmp_path / "run", seed=7)
    digest = hashlib.sha256((tmp_path / "run" / "dialogues.jsonl").read_bytes()).hexdigest()
    assert digest == OFFLINE_SEED_7


def test_persona_sampling_in_five_locales_is_pinned() -> None:
    personas = sample_personas(200, seed=11, locales=["en_US", "fa_IR", "sw", "de_DE", "ja_JP"]).personas
    lines = (
        json.dumps(p.model_dump(mode="json", exclude_none=True), ensure_ascii=False, sort_keys=True) + "\n"
        for p in personas
    )
    assert hashlib.sha256("".join(lines).encode()).hexdigest() == SAMPLE_SEED_11
