"""Read AnnoMI's CSV files (simple and full) into transcripts coded with the MI framework.

The simple file has one row per utterance and the therapist's main behaviour only. The full file
adds the annotator and the behaviour's subtype; 7 transcripts were coded by 10 annotators each and
appear once per annotator. Those are resolved by majority vote: first the main behaviour (or the
client's talk type), then the subtype among the annotators who chose the winning behaviour. A tie
goes to the label of the lowest-numbered annotator among the tied labels, which reproduces the
labels of AnnoMI-simple for all 428 multiply-annotated utterances (14 of them ties).

How AnnoMI's labels become MI codes is data: see `counselor_codes` in sources.yaml.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from counselsynth.datafiles import read_text
from counselsynth.errors import DataFileError
from counselsynth.fidelity.sources import Source
from counselsynth.fidelity.transcripts import Transcript
from counselsynth.models import TALK_VALENCES, TalkValence, TherapyFramework, Turn, TurnAnnotations

Layout = Literal["simple", "full"]
Quality = Literal["high", "low"]
QUALITIES: tuple[Quality, ...] = ("high", "low")
SIMPLE_COLUMNS = (
    "transcript_id",
    "mi_quality",
    "topic",
    "utterance_id",
    "interlocutor",
    "utterance_text",
    "main_therapist_behaviour",
    "client_talk_type",
)
FULL_COLUMNS = (*SIMPLE_COLUMNS, "annotator_id", "reflection_subtype", "question_subtype", "therapist_input_subtype")
BEHAVIOURS = ("question", "reflection", "therapist_input", "other")
SUBTYPE_COLUMN = {
    "question": "question_subtype",
    "reflection": "reflection_subtype",
    "therapist_input": "therapist_input_subtype",
}
SUBTYPES = {
    "question": ("open", "closed"),
    "reflection": ("simple", "complex"),
    "therapist_input": ("information", "advice", "options", "negotiation"),
}
NOT_APPLICABLE = "n/a"


@dataclass(frozen=True)
class _Row:
    line: int
    transcript: int
    utterance: int
    quality: Quality
    topic: str
    speaker: Literal["therapist", "client"]
    text: str
    label: str  # main behaviour (therapist) or talk type (client)
    subtype: str  # "" when the layout has none or the label takes none
    annotator: int


@dataclass(frozen=True)
class AnnoMIFile:
    layout: Layout
    transcripts: list[Transcript]
    ties: int
    subtype_ties: int
    voted_utterances: int
    voted_transcripts: int


def read_annomi(path: Path, source: Source, framework: TherapyFramework, quality: Quality | None) -> AnnoMIFile:
    """Parse an AnnoMI CSV (either layout), keeping the transcripts of `quality` (or all)."""
    layout, rows = _read_rows(path)
    grouped: dict[int, dict[int, list[_Row]]] = {}
    for row in rows:
        if quality is None or row.quality == quality:
            grouped.setdefault(row.transcript, {}).setdefault(row.utterance, []).append(row)
    transcripts = []
    ties = subtype_ties = voted = 0
    voted_transcripts = set()
    for transcript_id in sorted(grouped):
        turns = []
        first: _Row | None = None
        for utterance_id in sorted(grouped[transcript_id]):
            votes = grouped[transcript_id][utterance_id]
            row = votes[0]
            first = first or row
            _check_consistent(path, votes)
            if len(votes) > 1:
                voted += 1
                voted_transcripts.add(transcript_id)
            label, tied = _majority([(v.annotator, v.label) for v in votes])
            subtype, subtype_tied = _majority([(v.annotator, v.subtype) for v in votes if v.label == label])
            ties += tied
            subtype_ties += subtype_tied
            turns.append(_turn(row, label, subtype, source, framework))
        assert first is not None
        persona = {"transcript_id": str(transcript_id), "mi_quality": first.quality, "topic": first.topic.strip()}
        transcripts.append(Transcript(str(transcript_id), turns, persona))
    return AnnoMIFile(layout, transcripts, ties, subtype_ties, voted, len(voted_transcripts))


def _read_rows(path: Path) -> tuple[Layout, list[_Row]]:
    reader = csv.DictReader(io.StringIO(read_text(path).lstrip("\ufeff"), newline=""))
    header = reader.fieldnames or []
    missing = [c for c in SIMPLE_COLUMNS if c not in header]
    if missing:
        raise DataFileError(path, "line 1", missing[0], f"not an AnnoMI CSV: missing column(s) {', '.join(missing)}")
    layout: Layout = "full" if "annotator_id" in header else "simple"
    if layout == "full":
        missing = [c for c in FULL_COLUMNS if c not in header]
        if missing:
            raise DataFileError(path, "line 1", missing[0], "AnnoMI-full layout without this column")
    return layout, list(_rows(path, reader, layout))


def _rows(path: Path, reader: csv.DictReader[str], layout: Layout) -> Iterator[_Row]:
    start = 2
    try:
        for record in reader:
            yield _row(path, record, f"line {start}", start, layout)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataFileError(path, f"line {reader.line_num}", None, f"malformed CSV: {exc}") from None


def _row(path: Path, record: dict[str, str | None], where: str, line: int, layout: Layout) -> _Row:
    def field(name: str, valid: Sequence[str] | None = None) -> str:
        value = record.get(name)
        if value is None:
            raise DataFileError(path, where, name, "missing value (the row has too few columns)")
        value = value.strip() if name != "utterance_text" else value
        if valid is not None and value not in valid:
            raise DataFileError(path, where, name, f"'{value}' is not one of {', '.join(valid)}")
        return value

    def number(name: str) -> int:
        value = field(name)
        if not value.isdigit():
            raise DataFileError(path, where, name, f"'{value}' is not a whole number")
        return int(value)

    speaker = field("interlocutor", ("therapist", "client"))
    subtype = ""
    if speaker == "therapist":
        label = field("main_therapist_behaviour", BEHAVIOURS)
        column = SUBTYPE_COLUMN.get(label)
        if layout == "full" and column is not None:
            subtype = field(column, (*SUBTYPES[label], NOT_APPLICABLE))
            subtype = "" if subtype == NOT_APPLICABLE else subtype
    else:
        label = field("client_talk_type", TALK_VALENCES)
    quality = field("mi_quality", QUALITIES)
    return _Row(
        line=line,
        transcript=number("transcript_id"),
        utterance=number("utterance_id"),
        quality="high" if quality == "high" else "low",
        topic=field("topic"),
        speaker="therapist" if speaker == "therapist" else "client",
        text=field("utterance_text"),
        label=label,
        subtype=subtype,
        annotator=number("annotator_id") if layout == "full" else 0,
    )


def _check_consistent(path: Path, votes: list[_Row]) -> None:
    first = votes[0]
    for other in votes[1:]:
        if other.speaker != first.speaker:
            raise DataFileError(
                path,
                f"line {other.line}",
                "interlocutor",
                f"utterance {first.utterance} of transcript {first.transcript} is '{first.speaker}' "
                f"on line {first.line}",
            )
        if other.annotator == first.annotator:
            raise DataFileError(
                path,
                f"line {other.line}",
                "annotator_id",
                f"annotator {other.annotator} labels utterance {first.utterance} of transcript "
                f"{first.transcript} twice (first on line {first.line})",
            )


def _majority(votes: list[tuple[int, str]]) -> tuple[str, bool]:
    """The most frequent label; a tie goes to the label of the lowest-numbered annotator."""
    counts = Counter(label for _, label in votes)
    top = max(counts.values())
    tied = {label for label, count in counts.items() if count == top}
    winner = min((annotator, label) for annotator, label in votes if label in tied)[1]
    return winner, len(tied) > 1


def _turn(row: _Row, label: str, subtype: str, source: Source, framework: TherapyFramework) -> Turn:
    if row.speaker == "client":
        valence: TalkValence = "change" if label == "change" else "sustain" if label == "sustain" else "neutral"
        annotations = TurnAnnotations(talk_type=source.client_codes[valence], valence=valence)
        return Turn(speaker="client", text=row.text, annotations=annotations)
    code = source.counselor_codes[f"{label}/{subtype}"]
    miti = framework.code(code).miti if code in framework.code_ids else None
    return Turn(speaker="counselor", text=row.text, annotations=TurnAnnotations(code=code, miti=miti))
