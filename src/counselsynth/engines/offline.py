"""The offline engine: deterministic dialogue from phrasebanks and persona fields.

It reads only a request's structured context (never the prose prompt), uses no network and is
deterministic by the request's seed. Every record it produces says `engine: offline`. It is for
trying the pipeline, tests and CI; it is not a language model and does not pretend to be one.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from counselsynth.engines.base import Reply, Request, T, estimate_tokens, provenance
from counselsynth.errors import EngineError
from counselsynth.languages import primary_subtag
from counselsynth.models import STAGES, AgentName, Persona, Rubric, Usage
from counselsynth.wordcount import SHORT_WORDS, clip_words, word_count

PHRASEBANK_DIR = Path(__file__).parent / "phrasebank"
EMOTIONS_FILE = Path(__file__).parent / "emotions.yaml"
FALLBACK_LANGUAGE = "en"
# Enough sentences for the longest real turns (a few hundred words); the cut then trims to target.
MAX_SENTENCES = 40
SLOTS = frozenset(
    {"name", "problem", "feeling", "thought", "belief", "rule", "coping", "goal", "homework", "resources"}
)


@cache
def phrasebank(language: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((PHRASEBANK_DIR / f"{language}.yaml").read_text(encoding="utf-8"))
    return data


@cache
def phrasebank_languages() -> frozenset[str]:
    return frozenset(p.stem for p in PHRASEBANK_DIR.glob("*.yaml"))


@cache
def problem_emotions() -> dict[str, list[str]]:
    data: dict[str, list[str]] = yaml.safe_load(EMOTIONS_FILE.read_text(encoding="utf-8"))
    return data


def slot_names(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}


@dataclass
class _Slots:
    """Lazily picks persona details for a template, so unused slots cost nothing."""

    persona: Persona
    bank: Mapping[str, Any]
    rng: random.Random
    extra: Mapping[str, str]

    def __getitem__(self, key: str) -> str:
        if key in self.extra:
            return self.extra[key]
        c = self.persona.conceptualization
        pick = self.rng.choice
        match key:
            case "name":
                return self.persona.demographics.name.split()[0]
            case "problem":
                return str(self.bank["problems"][self.persona.presenting_problem.category])
            case "thought":
                return pick(c.automatic_thoughts)
            case "belief":
                return pick(c.core_beliefs).belief
            case "rule":
                return pick(c.intermediate_beliefs)
            case "coping":
                return pick(c.coping_strategies)
            case "goal":
                return pick(self.persona.goals)
            case "homework":
                options = self.bank["homework"].get(self.extra.get("framework")) or self.bank["homework"]["default"]
                return str(pick(options)).format_map(self)
        raise KeyError(key)


class OfflineEngine:
    name = "offline"
    offline = True

    def model_for(self, agent: AgentName) -> str:
        return "offline-phrasebank-v1"

    def text_language(self, requested: str) -> str:
        primary = primary_subtag(requested)
        return primary if primary in phrasebank_languages() else FALLBACK_LANGUAGE

    def preflight(self) -> None:
        """Nothing to check: no model, no key, no endpoint."""

    def limit_calls(self, in_flight: int) -> None:
        """No requests to limit: offline calls are CPU work, bounded by the cases run at once."""

    def cache_hits(self) -> int:
        return 0

    def resilience(self) -> dict[str, float]:
        return {}  # no calls to retry or repair

    def structured_modes(self) -> dict[str, str]:
        return {}

    async def complete(self, request: Request[T]) -> Reply[T]:
        rng = random.Random(request.seed)
        handler = _HANDLERS.get(request.agent)
        if handler is None:
            raise EngineError(f"the offline engine has no handler for agent '{request.agent}'")
        fields = handler(request.context, rng)
        raw = json.dumps(fields, ensure_ascii=False, sort_keys=True)
        parsed = request.reply_schema.model_validate(fields)
        prompt_tokens = sum(estimate_tokens(m["content"]) for m in request.messages)
        usage = Usage(calls=1, prompt_tokens=prompt_tokens, completion_tokens=estimate_tokens(raw))
        used = provenance(request, self.name, self.model_for(request.agent), usage, raw, estimated=True)
        return Reply(parsed=parsed, usage=usage, provenance=used)


def _fill(template: str, slots: _Slots) -> str:
    text = template.format_map(slots)
    return text[:1].upper() + text[1:]


def _say(lines: list[str], slots: _Slots, recent: Collection[str]) -> str:
    """A line from `lines`, avoiding what this speaker said recently (a few tries, then accept)."""
    text = _fill(slots.rng.choice(lines), slots)
    for _ in range(3):
        if text not in recent:
            break
        text = _fill(slots.rng.choice(lines), slots)
    return text


def _bank_for(context: Mapping[str, Any]) -> Mapping[str, Any]:
    return phrasebank(str(context["language"]))


def _counselor(context: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    bank = _bank_for(context)
    persona: Persona = context["persona"]
    code: str = context["code"]
    feeling = bank["emotions"].get(context.get("client_emotion") or "neutral", "")
    slots = _Slots(
        persona, bank, rng, {"feeling": feeling, "resources": context["resources"], "framework": context["framework"]}
    )
    # A framework added by YAML alone has no phrasebank entry: its own examples are the lines.
    lines = bank["counselor"].get(code) or context["code_examples"]
    target: int = context["target_words"]
    opener = context.get("opener")
    if target <= SHORT_WORDS and not opener and not context["safety_step"]:
        # A minimal turn: the code's own shortest lines, else the backchannels of "other".
        return {"text": _short(lines, bank["counselor"].get("other", []), target, slots)}
    text = _say(lines, slots, context["recent"])
    if opener:
        text = _join(bank, _fill(rng.choice(bank["openers"][opener]), slots), text)
    if context["safety_step"]:
        return {"text": text}  # the protocol's wording is kept whole, whatever the target
    used = {*context["recent"], text}
    return {"text": _to_length(text, target, lambda: _fresh(lines, slots, used), bank)}


def _short(lines: Sequence[str], fallback: Sequence[str], target: int, slots: _Slots) -> str:
    for pool in (lines, fallback):
        fitting = [line for line in pool if word_count(line) <= target and not slot_names(line)]
        exact = [line for line in fitting if word_count(line) == target]
        if exact or fitting:
            return slots.rng.choice(exact or fitting)
    return clip_words(_fill(slots.rng.choice(list(lines)), slots), target, slots.bank.get("sentence_end", "."))


def _fresh(lines: list[str], slots: _Slots, used: set[str]) -> str:
    """A line not yet said in this turn or lately, remembered as said."""
    text = _say(lines, slots, used)
    used.add(text)
    return text


def _to_length(text: str, target: int, more: Callable[[], str], bank: Mapping[str, Any]) -> str:
    """Sentences added until the text reaches `target` words, then cut at the target: an offline
    turn has exactly its planned length, so the corpus's structure follows the turn form."""
    for _ in range(MAX_SENTENCES):
        if word_count(text) >= target:
            break
        text = _join(bank, text, more())
    return clip_words(text, target, bank.get("sentence_end", "."))


def _client(context: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    bank = _bank_for(context)
    persona: Persona = context["persona"]
    lines = bank["client"]
    slots = _Slots(persona, bank, rng, {})
    valence: str = context["valence"]
    safety_step: str | None = context.get("safety_step")
    target: int = context["target_words"]
    events: list[str] = []
    if context.get("disclose"):
        text, valence, events = _fill(rng.choice(lines["disclosure"]), slots), "neutral", ["suicidal_ideation"]
    elif safety_step:
        text, valence = _fill(rng.choice(lines["safety_answer"][safety_step]), slots), "neutral"
        events = ["suicidal_ideation"] if safety_step == "risk_assessment" else []
    elif target <= SHORT_WORDS:
        # "Yeah.", "Mm-hmm.": neutral talk is mostly backchannels; change and sustain talk have
        # their own short lines where the phrasebank has them.
        own = lines.get("short", {}).get(valence, []) if valence != "neutral" else lines["backchannel"]
        text = _short(own, lines["backchannel"], target, slots)
    else:
        first = _fill(rng.choice(lines[context["opening"]]), slots) if context.get("opening") else None
        text = first or _say(lines[valence], slots, context["recent"])
        extra = lines["elaborations"].get(persona.style) or lines[valence]
        pools = [extra, lines[valence]]
        used = {*context["recent"], text}
        text = _to_length(text, target, lambda: _fresh(pools[rng.random() < 0.5], slots, used), bank)
    emotion, intensity = _emotion(context, valence, events, rng)
    return {
        "text": text,
        "valence": valence,
        "emotion": emotion,
        "emotion_intensity": intensity,
        "safety_events": events,
    }


def _join(bank: Mapping[str, Any], first: str, second: str) -> str:
    # Chinese and Japanese put no space between sentences.
    return f"{first}{bank.get('sentence_joiner', ' ')}{second}"


def _emotion(context: Mapping[str, Any], valence: str, events: list[str], rng: random.Random) -> tuple[str, int]:
    persona: Persona = context["persona"]
    if events:
        return "hopelessness", 5
    options = problem_emotions()[persona.presenting_problem.category]
    emotion = rng.choices(options, weights=[3, 2, *[1] * (len(options) - 2)][: len(options)])[0]
    # Intensity follows current severity and eases over the session, as clients settle in.
    severity = 0.6 * context["phq9"] / 27 + 0.4 * context["gad7"] / 21
    level = 1.5 + 3.5 * severity - 0.8 * float(context["position"]) + rng.uniform(-0.6, 0.6)
    if valence == "change":
        level -= 0.6
        if rng.random() < 0.3:
            emotion = "hope"
    elif valence == "sustain":
        level += 0.3
    return emotion, max(1, min(5, round(level)))


def _critic(context: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    # The offline critic scores each rubric item by how often the counselor used its evidence
    # codes, relative to the share that earns full marks. A crude but honest proxy.
    rubric: Rubric = context["rubric"]
    counts: Mapping[str, int] = context["code_counts"]
    total = max(1, sum(counts.values()))
    low, high = rubric.scale
    scores = {}
    for item in rubric.items:
        share = sum(counts.get(code, 0) for code in item.evidence_codes) / total
        scores[item.id] = round(low + (high - low) * min(1.0, share / item.expected_share), 2)
    weakest = sorted(scores, key=scores.__getitem__)[:2]
    return {
        "scores": scores,
        "reasons": [f"{item} scored {scores[item]} on a {low}-{high} scale" for item in weakest],
        "suggested_fix": f"use more of the behaviours behind: {', '.join(weakest)}",
    }


def _planner(context: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    persona: Persona = context["persona"]
    sessions = []
    for index in range(1, int(context["sessions"]) + 1):
        phases = [{"phase": p.id, "exchanges": rng.randint(*p.exchanges)} for p in context["phases"]]
        goal = persona.goals[(index - 1) % len(persona.goals)]
        sessions.append({"focus": goal, "phases": phases})
    return {"sessions": sessions}


def _summarizer(context: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    bank = _bank_for(context)
    persona: Persona = context["persona"]
    change, sustain = float(context["change_share"]), float(context["sustain_share"])
    slots = _Slots(persona, bank, rng, {})
    drift = 4 * change - 3 * sustain
    phq9 = max(0, min(27, round(context["phq9"] - drift - rng.uniform(-1.0, 1.5))))
    gad7 = max(0, min(21, round(context["gad7"] - 0.7 * drift - rng.uniform(-1.0, 1.0))))
    stage = str(context["stage_of_change"])
    if change >= 0.3 and change > sustain and stage != "maintenance":
        stage = STAGES[STAGES.index(stage) + 1]
    homework = None
    if context["homework_expected"]:
        options = bank["homework"].get(context["framework"]) or bank["homework"]["default"]
        homework = _fill(rng.choice(options), slots)
        homework = homework[:1].lower() + homework[1:]
    summary = _fill(rng.choice(bank["summaries"]), slots)
    return {"summary": summary, "homework": homework, "phq9": phq9, "gad7": gad7, "stage_of_change": stage}


_HANDLERS = {
    "counselor": _counselor,
    "client": _client,
    "critic": _critic,
    "planner": _planner,
    "summarizer": _summarizer,
}
