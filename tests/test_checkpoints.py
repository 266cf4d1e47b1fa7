"""The checkpoint serializer: a case's state survives the round trip through SQLite's bytes."""

from __future__ import annotations

import datetime
from pathlib import Path

from conftest import generate, persona_record, write_personas

from counselsynth.graph.checkpoints import CheckpointSerializer
from counselsynth.models import Persona, Session, Turn


def test_state_round_trip(tmp_path: Path) -> None:
    personas = write_personas(tmp_path / "p.yaml", [persona_record()])
    case = generate(personas, tmp_path / "run", sessions=2)[0]
    state = {
        "sessions": case.sessions,
        "turns": case.sessions[-1].turns,
        "critiques": [case.sessions[0].critique],
        "usage": case.usage,
        "plan": [{"focus": "sleep", "phases": [["engaging", 3]]}],
        "session_index": 2,
        "homework": None,
    }
    serializer = CheckpointSerializer()
    kind, payload = serializer.dumps_typed(state)
    back = serializer.loads_typed((kind, payload))
    assert isinstance(back["sessions"][0], Session) and isinstance(back["turns"][0], Turn)
    assert [s.model_dump() for s in back["sessions"]] == [s.model_dump() for s in case.sessions]
    assert [t.model_dump() for t in back["turns"]] == [t.model_dump() for t in case.sessions[-1].turns]
    assert back["critiques"][0].model_dump() == case.sessions[0].critique.model_dump()
    assert {k: v.model_dump() for k, v in back["usage"].items()} == {k: v.model_dump() for k, v in case.usage.items()}
    assert (back["plan"], back["session_index"], back["homework"]) == (state["plan"], 2, None)


def test_foreign_values_take_langgraphs_path() -> None:
    serializer = CheckpointSerializer()
    when = datetime.datetime(2026, 11, 22, 9, 30)
    assert serializer.loads_typed(serializer.dumps_typed({"when": when, "seen": {1, 2}})) == {
        "when": when,
        "seen": {1, 2},
    }
    # A model outside the allow-list is stored but never constructed on load: it comes back as data.
    persona = Persona.model_validate(persona_record())
    back = serializer.loads_typed(serializer.dumps_typed({"persona": persona}))["persona"]
    assert isinstance(back, dict) and back["id"] == persona.id
