"""Read ESConv into transcripts coded with the esc framework (one code per support strategy).

Two layouts are read:
- the original `ESConv.json` (and `FailedESConv.json`): a JSON list of conversations, each with
  `dialog: [{speaker, annotation: {strategy | feedback}, content}]`. Speakers are `seeker` and
  `supporter`; FailedESConv.json calls them `speaker` and `listener`. The seeker's survey
  (`survey_score.seeker.initial_emotion_intensity` / `final_emotion_intensity`, 1-5) becomes the
  emotion intensity of the first and the last seeker turn; `feedback` (the seeker's rating of the
  supporter) is not an emotion and is dropped.
- the converted JSONL layout: one conversation per line, `dialog: [{text, speaker: usr|sys,
  strategy}]`, with no survey.

The file format (JSON, JSONL or YAML) is found from the content, not the file name, unless given.

ESConv does not annotate the seeker's talk type (see sources.yaml: `unannotated_client_code`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from counselsynth.datafiles import DataFormat, iter_records
from counselsynth.errors import DataFileError
from counselsynth.fidelity.sources import Source
from counselsynth.fidelity.transcripts import Transcript
from counselsynth.models import Emotion, TherapyFramework, Turn, TurnAnnotations

Layout = Literal["original", "converted"]
SEEKERS = ("seeker", "speaker", "usr")
SUPPORTERS = ("supporter", "listener", "sys")
ORIGINAL_KEYS = ("speaker", "content")
CONVERTED_KEYS = ("speaker", "text")


def read_esconv(
    path: Path, source: Source, framework: TherapyFramework, data_format: DataFormat | None = None
) -> tuple[Layout, list[Transcript]]:
    stem = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-") or "esconv"
    transcripts: list[Transcript] = []
    layouts: set[Layout] = set()
    for number, (label, record) in enumerate(iter_records(path, data_format or "auto"), start=1):
        if not isinstance(record, dict):
            raise DataFileError(path, label, None, f"expected a conversation (mapping), got {type(record).__name__}")
        dialog = record.get("dialog")
        if not isinstance(dialog, list) or not dialog:
            raise DataFileError(path, label, "dialog", "needs a non-empty list of turns")
        layout: Layout = "converted" if isinstance(dialog[0], dict) and "text" in dialog[0] else "original"
        layouts.add(layout)
        turns = [_turn(path, label, index, raw, layout, source, framework) for index, raw in enumerate(dialog)]
        persona = _persona(record)
        if layout == "original":
            _survey(path, label, record, turns, source)
        transcripts.append(Transcript(f"{stem}-{number:04d}", turns, persona))
    if not transcripts:
        raise DataFileError(path, None, None, "no conversations")
    if len(layouts) > 1:
        raise DataFileError(path, None, "dialog", "mixes the original and the converted ESConv layouts")
    return layouts.pop(), transcripts


def _persona(record: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("emotion_type", "problem_type", "experience_type")
    return {key: str(record[key]) for key in keys if isinstance(record.get(key), str | int)}


def _turn(
    path: Path, label: str, index: int, raw: Any, layout: Layout, source: Source, framework: TherapyFramework
) -> Turn:
    where = f"dialog.{index}"
    if not isinstance(raw, dict):
        raise DataFileError(path, label, where, f"expected a turn (mapping), got {type(raw).__name__}")
    for key in ORIGINAL_KEYS if layout == "original" else CONVERTED_KEYS:
        if not isinstance(raw.get(key), str):
            raise DataFileError(path, label, f"{where}.{key}", "required text is missing")
    text = str(raw["content" if layout == "original" else "text"]).strip()
    speaker = raw["speaker"]
    if speaker in SEEKERS:
        annotations = TurnAnnotations(talk_type=source.unannotated_client_code or "not_annotated")
        return Turn(speaker="client", text=text, annotations=annotations)
    if speaker not in SUPPORTERS:
        valid = ", ".join((*SEEKERS, *SUPPORTERS))
        raise DataFileError(path, label, f"{where}.speaker", f"'{speaker}' is not one of {valid}")
    if layout == "original":
        annotation = raw.get("annotation")
        strategy = annotation.get("strategy") if isinstance(annotation, dict) else None
        field = f"{where}.annotation.strategy"
    else:
        strategy = raw.get("strategy")
        field = f"{where}.strategy"
    if not isinstance(strategy, str):
        raise DataFileError(path, label, field, "supporter turn without a strategy")
    code = source.counselor_codes.get(strategy.strip())
    if code is None:
        valid = ", ".join(sorted(source.counselor_codes))
        raise DataFileError(path, label, field, f"unknown strategy '{strategy}'; valid: {valid}")
    return Turn(speaker="counselor", text=text, annotations=TurnAnnotations(code=code, miti=framework.code(code).miti))


def _survey(path: Path, label: str, record: Mapping[str, Any], turns: list[Turn], source: Source) -> None:
    """Put the seeker's reported emotion intensity before and after the conversation on the first
    and the last seeker turn, where the survey has it."""
    survey = record.get("survey_score")
    seeker = survey.get("seeker") if isinstance(survey, dict) else None
    if not isinstance(seeker, dict):
        return
    clients = [t for t in turns if t.speaker == "client"]
    if len(clients) < 2:
        return
    emotion = _emotion(source, record.get("emotion_type"))
    for turn, key in ((clients[0], "initial_emotion_intensity"), (clients[-1], "final_emotion_intensity")):
        value = seeker.get(key)
        if value in (None, ""):
            continue
        if not str(value).strip().isdigit() or not 1 <= int(str(value)) <= 5:
            raise DataFileError(path, label, f"survey_score.seeker.{key}", f"'{value}' is not an intensity 1-5")
        turn.annotations.emotion_intensity = int(str(value))
        turn.annotations.emotion = emotion


def _emotion(source: Source, label: object) -> Emotion | None:
    return source.emotions.get(label.strip().lower()) if isinstance(label, str) else None
