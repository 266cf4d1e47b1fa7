"""import-corpus: AnnoMI (simple and full, majority vote) and ESConv (both layouts) into the record format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli as run

from counselsynth.corpus import read_cases, read_manifest

FIXTURES = Path(__file__).parent / "fixtures" / "fidelity"


def imported(tmp_path: Path, source: str, fixture: str, *extra: str) -> list[dict[str, Any]]:
    out = tmp_path / "corpus"
    code, stdout, stderr = run(
        "import-corpus", "--source", source, "--path", str(FIXTURES / fixture), "--out", str(out), *extra
    )
    assert code == 0, stderr
    assert "imported" in stdout
    list(read_cases(out))  # every line is a valid Case
    return [json.loads(line) for line in (out / "dialogues.jsonl").read_text().splitlines()]


def turns(case: dict[str, Any]) -> list[tuple[str, str, str | None, str | None]]:
    """(speaker, text, code or talk type, miti or valence) of the case's one session."""
    (session,) = case["sessions"]
    out = []
    for turn in session["turns"]:
        notes = turn["annotations"]
        if turn["speaker"] == "counselor":
            out.append(("counselor", turn["text"], notes["code"], notes["miti"]))
        else:
            out.append(("client", turn["text"], notes["talk_type"], notes["valence"]))
    return out


def test_annomi_simple_gets_generic_codes_where_subtypes_are_missing(tmp_path: Path) -> None:
    cases = imported(tmp_path, "annomi", "annomi_simple.csv")
    assert [c["case_id"] for c in cases] == ["annomi-0", "annomi-1"]
    first = cases[0]
    assert {k: first[k] for k in ("persona_id", "framework", "language", "engine", "offline", "model", "seed")} == {
        "persona_id": "annomi-0",
        "framework": "mi",
        "language": "en",
        "engine": "human",
        "offline": False,
        "model": "annomi",
        "seed": 0,
    }
    assert first["persona"] == {
        "source": "annomi",
        "transcript_id": "0",
        "mi_quality": "high",
        "topic": "reducing alcohol consumption",
    }
    session = first["sessions"][0]
    assert (session["index"], session["plan"], session["critique"], session["summary"]) == (1, [], None, None)
    assert turns(first) == [
        ("counselor", "Thanks for coming in. What would you like to talk about today?", "question", None),
        ("client", "My wife thinks I drink too much.", "neutral", "neutral"),
        ("counselor", "She's worried about you.", "reflection", None),
        ("client", "Yeah, and honestly I've been a bit worried too.", "change_talk", "change"),
        ("counselor", "Part of you is starting to wonder about it yourself.", "reflection", None),
        ("client", "Mm-hmm.", "neutral", "neutral"),
        (
            "counselor",
            "Most people who cut down notice better sleep within a couple of weeks.",
            "therapist_input",
            None,
        ),
        ("client", "I don't see myself stopping, though.", "sustain_talk", "sustain"),
        ("counselor", "Okay.", "other", None),
    ]
    assert cases[1]["persona"]["topic"] == "smoking cessation"
    manifest = read_manifest(tmp_path / "corpus")
    assert (manifest.status, manifest.engine, manifest.offline) == ("complete", "human", False)
    assert manifest.counts == {"cases": 2, "sessions": 2, "turns": 13}
    assert manifest.settings["layout"] == "simple"
    assert any("no behaviour subtypes" in w for w in manifest.warnings)


def test_annomi_full_resolves_several_annotators_by_majority(tmp_path: Path) -> None:
    cases = imported(tmp_path, "annomi", "annomi_full.csv")
    assert turns(cases[0]) == [
        ("counselor", "What got you thinking about walking more?", "open_question", "Q_OPEN"),
        ("client", "My doctor mentioned my blood pressure.", "neutral", "neutral"),
        (
            "counselor",
            "So your health is on your mind, and you'd like to feel in charge of it.",
            "complex_reflection",
            "CR",
        ),
        # change / neutral / sustain: a three-way tie goes to the lowest-numbered annotator (2)
        ("client", "I guess. Evenings are hard though.", "change_talk", "change"),
        # reflection wins 2:1; its subtype ties complex (annotator 2) against simple (annotator 7)
        ("counselor", "The evenings are when it slips.", "complex_reflection", "CR"),
    ]
    assert turns(cases[1]) == [
        ("counselor", "You should really cut out sugar.", "therapist_input", None),
        ("client", "That's easier said than done.", "sustain_talk", "sustain"),
        ("counselor", "Do you eat breakfast?", "closed_question", "Q_CLOSED"),
        ("client", "Most days.", "neutral", "neutral"),
        ("counselor", "A portion of fruit counts toward your five a day.", "give_information", "GI"),
        ("client", "Okay.", "neutral", "neutral"),
    ]
    warnings = read_manifest(tmp_path / "corpus").warnings
    assert warnings == [
        "5 utterances in 1 transcripts carry several annotators' labels and were resolved by majority; "
        "1 behaviour ties and 1 subtype ties went to the lowest-numbered annotator"
    ]


def test_annomi_quality_filter_keeps_one_quality(tmp_path: Path) -> None:
    cases = imported(tmp_path, "annomi", "annomi_full.csv", "--quality", "low")
    assert [c["case_id"] for c in cases] == ["annomi-1"]
    assert cases[0]["persona"]["mi_quality"] == "low"


def test_esconv_original_layout_maps_strategies_and_the_seeker_survey(tmp_path: Path) -> None:
    cases = imported(tmp_path, "esconv", "esconv_original.json")
    assert [c["case_id"] for c in cases] == ["esconv-esconv-original-0001", "esconv-esconv-original-0002"]
    assert cases[0]["framework"] == "esc"
    assert cases[0]["persona"] == {
        "source": "esconv",
        "emotion_type": "anxiety",
        "problem_type": "job crisis",
        "experience_type": "Current Experience",
    }
    assert turns(cases[0]) == [
        ("client", "Hi, is anyone there?", "not_annotated", None),
        ("counselor", "Hello! What's on your mind today?", "question", None),
        ("client", "My probation review is next week and I can't sleep.", "not_annotated", None),
        ("counselor", "That sounds really stressful.", "reflection_of_feelings", None),
        ("counselor", "I remember lying awake before my own review.", "self_disclosure", None),
        ("client", "It helps to hear that.", "not_annotated", None),
        ("counselor", "Maybe write down three things you did well this year?", "providing_suggestions", None),
        ("client", "I'll try that tonight, thanks.", "not_annotated", None),
    ]
    emotions = [
        (t["annotations"]["emotion"], t["annotations"]["emotion_intensity"])
        for t in cases[0]["sessions"][0]["turns"]
        if t["speaker"] == "client"
    ]
    assert emotions == [("anxiety", 4), (None, None), (None, None), ("anxiety", 2)]
    # FailedESConv's speaker/listener naming and spelling variants; "depression" is no record emotion.
    assert [t[2] for t in turns(cases[1])] == [
        "not_annotated",
        "question",
        "not_annotated",
        "affirmation_and_reassurance",
        "providing_suggestions",
        "not_annotated",
    ]
    client = [t["annotations"] for t in cases[1]["sessions"][0]["turns"] if t["speaker"] == "client"]
    assert [(a["emotion"], a["emotion_intensity"]) for a in client] == [(None, 5), (None, None), (None, 5)]


def test_esconv_converted_layout(tmp_path: Path) -> None:
    cases = imported(tmp_path, "esconv", "esconv_converted.jsonl")
    assert [t[2] for t in turns(cases[0])] == [
        "not_annotated",
        "question",
        "not_annotated",
        "restatement_or_paraphrasing",
        "information",
        "not_annotated",
        "other",
    ]
    assert turns(cases[0])[4][3] == "GI"
    assert cases[1]["persona"] == {"source": "esconv", "emotion_type": "anger", "problem_type": "problems with friends"}
    assert read_manifest(tmp_path / "corpus").settings["layout"] == "converted"


def _rewrite(tmp_path: Path, fixture: str, old: str, new: str) -> Path:
    path = tmp_path / fixture
    text = (FIXTURES / fixture).read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("source", "fixture", "old", "new", "expected"),
    [
        (
            "annomi",
            "annomi_simple.csv",
            "main_therapist_behaviour,",
            "behaviour,",
            "line 1, field 'main_therapist_behaviour'",
        ),
        (
            "annomi",
            "annomi_simple.csv",
            ",reflection,n/a",
            ",mirroring,n/a",
            "line 4, field 'main_therapist_behaviour'",
        ),
        ("annomi", "annomi_simple.csv", ",n/a,change", ",n/a,maybe", "line 5, field 'client_talk_type'"),
        ("annomi", "annomi_full.csv", ",True,complex,", ",True,deep,", "line 9, field 'reflection_subtype'"),
        ("annomi", "annomi_full.csv", "4,therapist,00:00:10", "4,x,00:00:10", "line 21, field 'interlocutor'"),
        (
            "esconv",
            "esconv_original.json",
            '"Self-disclosure"',
            '"Storytelling"',
            "record 1, field 'dialog.4.annotation.strategy'",
        ),
        (
            "esconv",
            "esconv_original.json",
            '"speaker": "supporter", "annotation": {"strategy": "Question"}',
            '"speaker": "supporter", "annotation": {}',
            "record 1, field 'dialog.1.annotation.strategy'",
        ),
        (
            "esconv",
            "esconv_converted.jsonl",
            '"speaker": "sys", "strategy": "Information"',
            '"speaker": "bot"',
            "line 1, field 'dialog.4.speaker'",
        ),
        (
            "esconv",
            "esconv_converted.jsonl",
            '{"emotion_type": "anger"',
            '{"emotion_type" "anger"',
            "line 2: invalid JSON",
        ),
        (
            "esconv",
            "esconv_original.json",
            '"final_emotion_intensity": "2"',
            '"final_emotion_intensity": "9"',
            "record 1, field 'survey_score.seeker.final_emotion_intensity'",
        ),
    ],
)
def test_a_malformed_source_file_gets_one_line_and_writes_nothing(
    tmp_path: Path, source: str, fixture: str, old: str, new: str, expected: str
) -> None:
    path = _rewrite(tmp_path, fixture, old, new)
    out = tmp_path / "corpus"
    code, _, stderr = run("import-corpus", "--source", source, "--path", str(path), "--out", str(out))
    assert code == 2
    assert stderr.startswith(f"error: {path}")
    assert expected in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert not (out / "dialogues.jsonl").exists() and not (out / "manifest.json").exists()


def test_import_refuses_unknown_sources_missing_files_and_a_used_folder(tmp_path: Path) -> None:
    code, _, stderr = run("import-corpus", "--source", "mitv", "--path", "x.csv", "--out", str(tmp_path / "a"))
    assert (code, stderr.strip()) == (2, "error: unknown source 'mitv'; valid: annomi, esconv")
    code, _, stderr = run(
        "import-corpus", "--source", "annomi", "--path", str(tmp_path / "no.csv"), "--out", str(tmp_path / "a")
    )
    assert (code, stderr.strip()) == (2, f"error: {tmp_path / 'no.csv'}: file not found")
    fixture = str(FIXTURES / "esconv_converted.jsonl")
    code, _, stderr = run(
        "import-corpus", "--source", "esconv", "--path", fixture, "--out", str(tmp_path / "a"), "--quality", "high"
    )
    assert (code, stderr.strip()) == (2, "error: --quality applies to AnnoMI only")
    assert run("import-corpus", "--source", "esconv", "--path", fixture, "--out", str(tmp_path / "b"))[0] == 0
    before = (tmp_path / "b" / "dialogues.jsonl").read_bytes()
    code, _, stderr = run("import-corpus", "--source", "esconv", "--path", fixture, "--out", str(tmp_path / "b"))
    assert code == 2 and "already holds a corpus" in stderr
    assert (tmp_path / "b" / "dialogues.jsonl").read_bytes() == before


@pytest.mark.parametrize(
    ("fixture", "name"), [("esconv_converted.jsonl", "chats.txt"), ("esconv_original.json", "x.yaml")]
)
def test_esconv_format_is_found_from_the_content_not_the_name(tmp_path: Path, fixture: str, name: str) -> None:
    renamed = tmp_path / name
    renamed.write_bytes((FIXTURES / fixture).read_bytes())
    out = tmp_path / "corpus"
    code, stdout, stderr = run("import-corpus", "--source", "esconv", "--path", str(renamed), "--out", str(out))
    assert code == 0, stderr
    expected = imported(tmp_path / "named", "esconv", fixture)
    got = [json.loads(line) for line in (out / "dialogues.jsonl").read_text().splitlines()]
    assert [turns(c) for c in got] == [turns(c) for c in expected]


def test_esconv_format_flag_overrides_the_content(tmp_path: Path) -> None:
    yaml_file = tmp_path / "chats.txt"
    yaml_file.write_text(
        "- dialog:\n    - {speaker: usr, text: Hello}\n    - {speaker: sys, text: Hi there, strategy: Question}\n"
    )
    out = tmp_path / "corpus"
    assert run("import-corpus", "--source", "esconv", "--path", str(yaml_file), "--out", str(out))[0] == 0
    jsonl = tmp_path / "one.txt"
    jsonl.write_bytes((FIXTURES / "esconv_converted.jsonl").read_bytes())
    code, _, stderr = run(
        "import-corpus", "--source", "esconv", "--path", str(jsonl), "--out", str(tmp_path / "b"), "--format", "json"
    )
    assert code == 2 and "invalid JSON" in stderr and str(jsonl) in stderr
    code, _, stderr = run(
        "import-corpus", "--source", "esconv", "--path", str(jsonl), "--out", str(tmp_path / "c"), "--format", "toml"
    )
    assert (code, stderr.strip()) == (2, "error: unknown format 'toml'; valid: json, jsonl, yaml")
