"""One training row per session: chat messages, aligned annotations and the case's identity.

Roles follow the speaker, never the position: the counselor is always `assistant` and the client
always `user`, also in a session the client opens. An optional system message (first) carries the
framework, the session's place in the case and the counselor's notes from the previous session,
rendered from `templates/system_message.jinja2`. `annotations[i]` describes `messages[i]`; the
system message's entry has speaker `system` and no codes.

With `first_role="user"` (the default) the conversation after the system message starts with the
user and strictly alternates, as Gemma- and Mistral-style chat templates require: a session the
counselor opens gets a short user opener first (`templates/user_opener.jinja2`, annotated with
speaker `opener`), and consecutive turns of one speaker become one message (joined by a blank
line, annotated with the first turn's codes). `first_role="assistant"` keeps one message per turn.

The schema is explicit (`ROW_FEATURES`): a column that is all None in a small export (say
`emotion_intensity` in an imported corpus) keeps its type instead of being inferred as null.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from datasets import Features, Value

from counselsynth.export.rendering import render
from counselsynth.languages import language_name
from counselsynth.models import Case, Session, TherapyFramework, Turn

SYSTEM_TEMPLATE = "system_message.jinja2"
OPENER_TEMPLATE = "user_opener.jinja2"
FirstRole = Literal["user", "assistant"]
FIRST_ROLES: tuple[FirstRole, ...] = ("user", "assistant")
ROLE_OF_SPEAKER: dict[str, str] = {"counselor": "assistant", "client": "user"}

MESSAGE = {"role": Value("string"), "content": Value("string")}
ANNOTATION = {
    "speaker": Value("string"),
    "code": Value("string"),
    "phase": Value("string"),
    "miti": Value("string"),
    "safety_step": Value("bool"),
    "verified": Value("bool"),
    "intended_code": Value("string"),
    "talk_type": Value("string"),
    "valence": Value("string"),
    "emotion": Value("string"),
    "emotion_intensity": Value("int8"),
    "safety_events": [Value("string")],
}
ROW_FEATURES = Features(
    {
        "id": Value("string"),
        "case_id": Value("string"),
        "persona_id": Value("string"),
        "framework": Value("string"),
        "language": Value("string"),
        "persona_language": Value("string"),
        "session_index": Value("int32"),
        "sessions_in_case": Value("int32"),
        "messages": [MESSAGE],
        "annotations": [ANNOTATION],
        "presenting_problem": Value("string"),
        "risk_level": Value("string"),
        "engine": Value("string"),
        "offline": Value("bool"),
        "model": Value("string"),
        "seed": Value("int64"),
        "critique_passed": Value("bool"),
        "critique_mean_score": Value("float64"),
        "safety_required": Value("bool"),
        "safety_missing": [Value("string")],
        "revisions": Value("int32"),
        "revisions_exhausted": Value("bool"),
        "summary": Value("string"),
        "homework": Value("string"),
        "phq9": Value("int32"),
        "gad7": Value("int32"),
        "stage_of_change": Value("string"),
    }
)
# What each column means, for the dataset card (same order as ROW_FEATURES).
ROW_FIELDS: dict[str, str] = {
    "id": "row id: `<case_id>-s<session_index>`",
    "case_id": "the case (persona x framework) the session belongs to",
    "persona_id": "the client persona; the split key",
    "framework": "therapy framework id (see the annotation scheme)",
    "language": "language of the text (BCP 47 tag)",
    "persona_language": "language the persona asked for; differs from `language` when the engine fell back",
    "session_index": "1-based position of the session in its case",
    "sessions_in_case": "number of sessions in the case",
    "messages": "the session as chat messages `{role, content}`: counselor = assistant, client = user",
    "annotations": "one entry per message, aligned with `messages` (the system message's entry is empty)",
    "presenting_problem": "the persona's presenting problem category",
    "risk_level": "the persona's risk level at intake",
    "engine": "engine that wrote the text (`offline` = phrasebank assembly, not an LLM)",
    "offline": "true when the offline engine wrote the text",
    "model": "the counselor's model",
    "seed": "the run's seed",
    "critique_passed": "whether the critic passed the session (null for sessions without a critique)",
    "critique_mean_score": "the critic's mean rubric score",
    "safety_required": "whether the safety protocol was required in this session",
    "safety_missing": "required safety steps the session still lacks (non-empty only if revisions ran out)",
    "revisions": "how often the critic sent the session back",
    "revisions_exhausted": "true when revisions ran out and the failing version was kept",
    "summary": "the summarizer's session notes",
    "homework": "homework agreed in the session",
    "phq9": "the client's PHQ-9 at the end of the session",
    "gad7": "the client's GAD-7 at the end of the session",
    "stage_of_change": "the client's stage of change at the end of the session",
}
SYSTEM_ANNOTATION: dict[str, Any] = {
    "speaker": "system",
    "code": None,
    "phase": None,
    "miti": None,
    "safety_step": False,
    "verified": None,
    "intended_code": None,
    "talk_type": None,
    "valence": None,
    "emotion": None,
    "emotion_intensity": None,
    "safety_events": [],
}


OPENER_ANNOTATION: dict[str, Any] = SYSTEM_ANNOTATION | {"speaker": "opener"}


def system_message(case: Case, session: Session, framework: TherapyFramework | None, previous: Session | None) -> str:
    summary = previous.summary if previous is not None else None
    return render(
        SYSTEM_TEMPLATE,
        {
            "framework_id": case.framework,
            "framework": framework,
            "session_index": session.index,
            "sessions_in_case": len(case.sessions),
            "previous_summary": summary.summary if summary else None,
            "previous_homework": summary.homework if summary else None,
            "language": case.language,
            "language_name": language_name(case.language),
        },
    ).strip()


def _annotation(turn: Turn) -> dict[str, Any]:
    notes = turn.annotations
    return {
        "speaker": turn.speaker,
        "code": notes.code,
        "phase": notes.phase,
        "miti": notes.miti,
        "safety_step": notes.safety_step,
        "verified": notes.verified,
        "intended_code": notes.intended_code,
        "talk_type": notes.talk_type,
        "valence": notes.valence,
        "emotion": notes.emotion,
        "emotion_intensity": notes.emotion_intensity,
        "safety_events": list(notes.safety_events),
    }


def _alternating(case: Case, session: Session) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """User-first, strictly alternating messages with their annotations."""
    messages: list[dict[str, str]] = []
    annotations: list[dict[str, Any]] = []
    if session.turns and session.turns[0].speaker == "counselor":
        opener = render(OPENER_TEMPLATE, {"session_index": session.index, "sessions_in_case": len(case.sessions)})
        messages.append({"role": "user", "content": opener.strip()})
        annotations.append(OPENER_ANNOTATION)
    for turn in session.turns:
        role = ROLE_OF_SPEAKER[turn.speaker]
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += "\n\n" + turn.text
            continue
        messages.append({"role": role, "content": turn.text})
        annotations.append(_annotation(turn))
    return messages, annotations


def _per_turn(turns: Sequence[Turn]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    return [{"role": ROLE_OF_SPEAKER[t.speaker], "content": t.text} for t in turns], [_annotation(t) for t in turns]


def session_rows(
    case: Case,
    frameworks: Mapping[str, TherapyFramework],
    *,
    with_system: bool = True,
    first_role: FirstRole = "user",
) -> Iterator[dict[str, Any]]:
    """The case's sessions as rows in ROW_FEATURES' shape, in session order."""
    framework = frameworks.get(case.framework)
    persona = case.persona
    problem = persona.get("presenting_problem")
    risk = persona.get("risk")
    previous: Session | None = None
    for session in sorted(case.sessions, key=lambda s: s.index):
        if first_role == "user":
            messages, annotations = _alternating(case, session)
        else:
            messages, annotations = _per_turn(session.turns)
        if with_system:
            messages.insert(0, {"role": "system", "content": system_message(case, session, framework, previous)})
            annotations.insert(0, SYSTEM_ANNOTATION)
        critique = session.critique
        summary = session.summary
        yield {
            "id": f"{case.case_id}-s{session.index}",
            "case_id": case.case_id,
            "persona_id": case.persona_id,
            "framework": case.framework,
            "language": case.language,
            "persona_language": case.persona_language,
            "session_index": session.index,
            "sessions_in_case": len(case.sessions),
            "messages": messages,
            "annotations": annotations,
            "presenting_problem": problem.get("category") if isinstance(problem, dict) else None,
            "risk_level": risk.get("level") if isinstance(risk, dict) else None,
            "engine": case.engine,
            "offline": case.offline,
            "model": case.model,
            "seed": case.seed,
            "critique_passed": critique.passed if critique else None,
            "critique_mean_score": critique.mean_score if critique else None,
            "safety_required": critique.safety_required if critique else False,
            "safety_missing": list(critique.safety_missing) if critique else [],
            "revisions": session.revisions,
            "revisions_exhausted": session.revisions_exhausted,
            "summary": summary.summary if summary else None,
            "homework": summary.homework if summary else None,
            "phq9": summary.phq9 if summary else None,
            "gad7": summary.gad7 if summary else None,
            "stage_of_change": summary.stage_of_change if summary else None,
        }
        previous = session
