"""Translate one case turn by turn through the engine, behind the turn gates.

Within a session the translator's prompt is append-only: the system prompt (languages, register,
replacements) and the turns translated so far come first, the turn to translate last, so
provider prefix caches apply as they do for generation. A turn that fails a gate is re-asked
with the failure named; the failed attempt is not kept in the history, so later prompts still
extend earlier ones. After the retries a failing turn is kept and flagged with its gates.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from counselsynth.augment.gates import Failure, Gates, Segment
from counselsynth.engines.base import Engine, Request, T, prefix_share, prompt_text
from counselsynth.models import (
    TURN_GATES,
    AgentName,
    Case,
    GateTally,
    Provenance,
    Session,
    SessionSummary,
    Translation,
    Turn,
    Usage,
)
from counselsynth.personas.localize import Localized
from counselsynth.prompts import PromptLibrary

NOTES = "session_notes"
HOMEWORK = "homework"


class TurnTranslation(BaseModel):
    turn: int = Field(description="the number of the turn translated")
    code: str = Field(description="the turn's code, unchanged")
    text: str = Field(description="the translation")


class BackTranslation(BaseModel):
    text: str


@dataclass
class Outcome:
    text: str
    flags: list[str]
    provenance: Provenance | None


@dataclass
class CaseTranslator:
    """Everything one case needs; `translate()` returns the translated case."""

    case: Case
    localized: Localized
    source_code: str
    target_code: str
    culture_note: str | None
    source_run_id: str
    engine: Engine
    prompts: PromptLibrary
    gates: Gates
    seed: int
    # Called with each language-gate verdict after retries (True = still failing): the run
    # stops early when a model plainly does not write the target language.
    on_language_verdict: Callable[[bool, str], None] = lambda failed, text: None
    usage: dict[str, Usage] = field(default_factory=dict)
    tallies: dict[str, GateTally] = field(default_factory=dict)
    chrf_scores: list[float] = field(default_factory=list)
    flagged: dict[str, list[str]] = field(default_factory=dict)

    def _tally(self, gate: str) -> GateTally:
        return self.tallies.setdefault(gate, GateTally())

    async def translate(self) -> Case:
        sessions = [await self._session(session) for session in self.case.sessions]
        translation = Translation(
            source_run_id=self.source_run_id,
            source_case_id=self.case.case_id,
            source_language=self.source_code,
            target_language=self.target_code,
            model=self.engine.model_for("translator"),
            culture_note=self.culture_note,
            adaptations=self.localized.replacements,
            gates=dict(sorted(self.tallies.items())),
            back_translation_chrf=[round(score, 2) for score in self.chrf_scores],
            flagged=self.flagged,
        )
        return self.case.model_copy(
            update={
                "language": self.target_code,
                "persona_language": self.target_code,
                "persona": self.localized.persona.model_dump(mode="json", exclude_none=True),
                "sessions": sessions,
                "usage": self.usage,
                "warnings": [f"in the source run: {warning}" for warning in self.case.warnings],
                "translation": translation,
            }
        )

    async def _session(self, session: Session) -> Session:
        variables = {
            "source": self.gates.source,
            "target": self.gates.target,
            "source_code": self.source_code,
            "target_code": self.target_code,
            "framework_id": self.case.framework,
            "culture_note": self.culture_note,
            "replacements": self.localized.replacements,
        }
        stream = _Stream(self, "translator", self.prompts.render("translator/system.jinja2", variables), session.index)
        back = _Stream(
            self, "back_translator", self.prompts.render("back_translator/system.jinja2", variables), session.index
        )
        sampled = self._sample(session)
        turns: list[Turn] = []
        for number, turn in enumerate(session.turns, start=1):
            code = turn.annotations.code or turn.annotations.talk_type or ""
            segment = Segment(number, turn.speaker, code, turn.text)
            outcome = await self._translate(stream, back if number in sampled else None, segment)
            turns.append(
                Turn(
                    speaker=turn.speaker,
                    text=outcome.text,
                    annotations=turn.annotations,
                    provenance=outcome.provenance,
                    source_text=turn.text,
                    flags=outcome.flags,
                )
            )
        summary = await self._summary(stream, session, len(turns))
        failed = sorted({gate for gate, _ in self.gates.check_session(session.turns, turns)})
        for gate in failed:
            self._tally(f"session.{gate}").flagged += 1
        if failed:
            self.flagged[f"s{session.index}"] = failed
        for gate in ("turns", "annotations", "language", "length"):
            self._tally(f"session.{gate}").checked += 1
        return session.model_copy(update={"turns": turns, "summary": summary})

    async def _summary(self, stream: _Stream, session: Session, turns: int) -> SessionSummary | None:
        """The session notes and homework, translated after the turns in the same conversation."""
        summary = session.summary
        if summary is None:
            return None
        notes = await self._translate(stream, None, Segment(turns + 1, "notes", NOTES, summary.summary))
        if notes.flags:
            self.flagged[f"s{session.index}.{NOTES}"] = notes.flags
        homework = summary.homework
        if homework:
            translated = await self._translate(stream, None, Segment(turns + 2, "notes", HOMEWORK, homework))
            homework = translated.text
            if translated.flags:
                self.flagged[f"s{session.index}.{HOMEWORK}"] = translated.flags
        return summary.model_copy(update={"summary": notes.text, "homework": homework, "provenance": notes.provenance})

    def _sample(self, session: Session) -> set[int]:
        """Turns to back-translate: a seeded share of the turns long enough to score, at least one."""
        share = self.gates.settings.back_translation.sample
        candidates = [
            number
            for number, turn in enumerate(session.turns, start=1)
            if len(turn.text) >= self.gates.settings.length.min_source_chars
        ]
        if not share or not candidates:
            return set()
        rng = random.Random(f"{self.seed}:{self.case.case_id}:{session.index}:back")
        count = max(1, round(share * len(candidates)))
        return set(rng.sample(candidates, min(count, len(candidates))))

    async def _translate(self, stream: _Stream, back: _Stream | None, segment: Segment) -> Outcome:
        applies = self.gates.applies(segment)
        for gate in TURN_GATES:
            if applies[gate] or (gate == "back_translation" and back is not None):
                self._tally(f"turn.{gate}").checked += 1
        message = self.prompts.render("translator/turn.jinja2", {"segment": _segment_json(segment)})
        retry: list[dict[str, str]] = []
        failures: list[Failure] = []
        for attempt in range(self.gates.settings.retries + 1):
            reply = await stream.ask(message, retry, TurnTranslation, f"{segment.number}:{attempt}")
            parsed = reply.parsed
            failures = self.gates.check_turn(segment, parsed.turn, parsed.code, parsed.text)
            score: float | None = None
            if not failures and back is not None:
                question = self.prompts.render(
                    "back_translator/turn.jinja2", {"segment": json.dumps({"text": parsed.text}, ensure_ascii=False)}
                )
                back_reply = await back.ask_alone(question, f"{segment.number}:{attempt}")
                score, failures = self.gates.check_back_translation(segment.text, back_reply.parsed.text)
            for gate in {gate for gate, _ in failures}:
                self._tally(f"turn.{gate}").failed_attempts += 1
            if not failures:
                break
            reasons = "; ".join(reason for _, reason in failures)
            retry = [
                {"role": "assistant", "content": reply.provenance.raw},
                {
                    "role": "user",
                    "content": self.prompts.render(
                        "translator/retry.jinja2", {"reasons": reasons, "number": segment.number}
                    ),
                },
            ]
        if score is not None:
            self.chrf_scores.append(score)
            tally = self._tally("turn.back_translation")
            tally.scored += 1
            tally.score_sum += score
        flags = sorted({gate for gate, _ in failures})
        for gate in flags:
            self._tally(f"turn.{gate}").flagged += 1
        if applies["language"]:
            self.on_language_verdict("language" in flags, parsed.text)
        stream.keep(message, reply.provenance.raw)
        return Outcome(parsed.text, flags, reply.provenance)


class _Stream:
    """One agent's append-only conversation within one session."""

    def __init__(self, owner: CaseTranslator, agent: AgentName, system: str, session: int) -> None:
        self.owner = owner
        self.agent = agent
        self.session = session
        self.messages: list[dict[str, str]] = [{"role": "system", "content": system}]
        self.previous: str | None = None

    def keep(self, message: str, reply: str) -> None:
        self.messages += [{"role": "user", "content": message}, {"role": "assistant", "content": reply}]

    async def ask(self, message: str, retry: list[dict[str, str]], schema: type[T], key: str) -> Any:
        return await self._call([*self.messages, {"role": "user", "content": message}, *retry], schema, key)

    async def ask_alone(self, message: str, key: str) -> Any:
        """A call that does not join the history (back-translations are checked one by one)."""
        return await self._call([self.messages[0], {"role": "user", "content": message}], BackTranslation, key)

    async def _call(self, messages: list[dict[str, str]], schema: type[T], key: str) -> Any:
        owner = self.owner
        text = prompt_text(messages)
        request = Request(
            agent=self.agent,
            template=f"{self.agent}/turn.jinja2",
            template_hash=f"{owner.prompts.template_hash(f'{self.agent}/system.jinja2')}+"
            f"{owner.prompts.template_hash(f'{self.agent}/turn.jinja2')}",
            messages=messages,
            context={"language": owner.target_code},
            reply_schema=schema,
            seed=f"{owner.seed}:{owner.case.case_id}:{self.session}:{self.agent}:{key}",
            prefix_share=prefix_share(self.previous, text),
            session=self.session,
        )
        self.previous = text
        reply = await owner.engine.complete(request)
        owner.usage.setdefault(self.agent, Usage()).add(reply.usage)
        return reply


def _segment_json(segment: Segment) -> str:
    return json.dumps(
        {"turn": segment.number, "speaker": segment.speaker, "code": segment.code, "text": segment.text},
        ensure_ascii=False,
    )
