"""One evaluated session: the client agent follows a scenario's script, the counselor under test
answers, then the coder labels the counselor's text and the critic scores it by window.

The counselor under test sees only the conversation (client turns as `user`, its own as
`assistant`) after its own optional system prompt: no codes, no policy, nothing from us.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from statistics import fmean

from pydantic import BaseModel, Field, create_model

# The graph package first: the agents' modules and the graph import each other, and only this
# order resolves (as in runner.py).
from counselsynth.graph import CaseContext, CaseState  # isort: split

from counselsynth.agents import client as client_agent
from counselsynth.agents import critic
from counselsynth.agents.requests import build_request, history_messages, recent_texts
from counselsynth.coder.model import CoderFile
from counselsynth.codestats import behaviour_counts
from counselsynth.engines.base import Engine, PlainText, Reply, Request
from counselsynth.engines.llm import LLMEngine
from counselsynth.errors import EngineError
from counselsynth.evaluation.checks import NO_REPLY, Transcript, evaluate_checks
from counselsynth.evaluation.record import EvaluationRecord, WindowScore
from counselsynth.evaluation.scenarios import Beat, Scenario, Suite
from counselsynth.frameworks import FrameworkCatalog
from counselsynth.models import (
    Case,
    Persona,
    PhasePlan,
    Session,
    TalkValence,
    TherapyFramework,
    Turn,
    TurnAnnotations,
    Usage,
)
from counselsynth.policy import load_policy
from counselsynth.prompts import PromptLibrary
from counselsynth.redaction import redact
from counselsynth.safety_text import performs_step
from counselsynth.turnform import load_form

UNDER_TEST = "under_test"
# A client who follows no beat talks like this (the offline client draws its words from it too).
VALENCES: tuple[TalkValence, ...] = ("change", "neutral", "sustain")


@dataclass(frozen=True)
class Probe:
    """One planned session: a scenario of a suite, its repeat number and its persona."""

    suite: Suite
    scenario: Scenario
    repeat: int
    persona: Persona

    @property
    def case_id(self) -> str:
        return f"{self.suite.suite}.{self.scenario.id}.{self.repeat}"


@dataclass
class Evaluator:
    simulator: Engine
    under_test: LLMEngine
    catalog: FrameworkCatalog
    prompts: PromptLibrary
    coder: CoderFile
    system_prompt: str | None
    seed: int

    async def run(self, probe: Probe) -> Case:
        ctx = self._context(probe)
        state: CaseState = {
            "plan": [{"focus": probe.scenario.id, "phases": [("scenario", probe.scenario.exchanges)]}],
            "session_index": 1,
            "revision": 0,
            "turns": [],
            "phq9": probe.persona.severity.phq9,
            "gad7": probe.persona.severity.gad7,
            "stage_of_change": probe.persona.stage_of_change,
            "summaries": [],
            "homework": None,
        }
        usage: dict[str, Usage] = {}
        turns: list[Turn] = state["turns"]
        rng = random.Random(ctx.seed_for("script", "beats"))
        scheduled = {b.id: b.scheduled(rng) for b in probe.scenario.beats}
        fired: dict[str, int] = {}
        settled: set[str] = set()
        disclosures: list[int] = []
        for exchange in range(1, probe.scenario.exchanges + 1):
            beat = _beat_now(probe.scenario, exchange, scheduled, fired, settled, turns, ctx)
            if beat is not None:
                fired[beat.id] = len(turns)
                if beat.events:
                    disclosures.append(len(turns))
            turns.append(await self._client_turn(ctx, state, probe.scenario, beat, rng, usage))
            turns.append(await self._counselor_turn(probe, turns, usage))
        windows = await self._windows(ctx, state, probe.suite.window, usage)
        transcript = Transcript(
            turns=turns,
            beats=fired,
            disclosures=disclosures,
            language=probe.suite.language,
            resources=ctx.safety.resources_for(probe.suite.language),
            windows=windows,
            pass_threshold=ctx.framework.rubric.pass_threshold,
        )
        checks = evaluate_checks(probe.scenario, transcript)
        record = EvaluationRecord(
            suite=probe.suite.suite,
            scenario=probe.scenario.id,
            repeat=probe.repeat,
            counselor_model=self.under_test.model_for("counselor"),
            client_model=self.simulator.model_for("client"),
            passed=all(c.passed for c in checks),
            checks=checks,
            windows=windows,
            miti=dict(behaviour_counts(t for t in turns if NO_REPLY not in t.flags)),
            beats=fired,
            failed_turns=sum(NO_REPLY in t.flags for t in turns),
        )
        return Case(
            case_id=probe.case_id,
            persona_id=probe.persona.id,
            framework=ctx.framework.id,
            language=probe.suite.language,
            persona_language=probe.persona.language,
            engine=self.simulator.name,
            offline=self.simulator.offline,
            model=self.under_test.model_for("counselor"),
            seed=self.seed,
            sessions=[
                Session(
                    index=1,
                    plan=[PhasePlan(phase="scenario", exchanges=probe.scenario.exchanges)],
                    turns=turns,
                    critique=None,
                )
            ],
            persona=probe.persona.model_dump(mode="json", exclude_none=True),
            usage=usage,
            evaluation=record,
        )

    def _context(self, probe: Probe) -> CaseContext:
        framework = self.catalog.get(probe.suite.framework)
        return CaseContext(
            case_id=probe.case_id,
            seed=self.seed,
            persona=probe.persona,
            framework=framework,
            safety=self.catalog.safety,
            policy=load_policy(framework, self.catalog.folders),
            form=load_form(framework.id, self.catalog.folders),
            prompts=self.prompts,
            engine=self.simulator,
            language=probe.suite.language,
            sessions=1,
            max_revisions=0,
        )

    async def _client_turn(
        self,
        ctx: CaseContext,
        state: CaseState,
        scenario: Scenario,
        beat: Beat | None,
        rng: random.Random,
        usage: dict[str, Usage],
    ) -> Turn:
        turns = state["turns"]
        if beat is not None and beat.say:
            # The probe is said as written, so it reaches the counselor whatever the client model makes of it.
            valence = beat.valence or "neutral"
            return Turn(
                speaker="client",
                text=rng.choice(beat.say),
                annotations=TurnAnnotations(
                    talk_type=ctx.framework.client_code_for(valence).id,
                    valence=valence,
                    safety_events=list(beat.events),
                ),
            )
        valence = beat.valence if beat is not None and beat.valence else rng.choice(VALENCES)
        target = ctx.form.client_words(valence, rng)
        request = build_request(
            ctx,
            state,
            agent="client",
            purpose="scenario",
            variables={
                "brief": scenario.brief,
                "instruction": beat.instruct if beat is not None else None,
                "talk": ctx.framework.client_code_for(valence),
                "target_words": target,
            },
            schema=client_agent.ClientReply,
            history=history_messages(turns, own="client"),
            context={
                "valence": valence,
                "disclose": False,
                "safety_step": None,
                "opening": "opening" if not turns else None,
                "recent": recent_texts(turns, "client"),
                "target_words": target,
                "position": len(turns) / max(1, 2 * state["plan"][0]["phases"][0][1]),
                "phq9": state["phq9"],
                "gad7": state["gad7"],
            },
        )
        reply = await self.simulator.complete(request)
        usage.setdefault("client", Usage()).add(reply.usage)
        return client_agent.turn(ctx, reply, target, [])

    async def _counselor_turn(self, probe: Probe, turns: list[Turn], usage: dict[str, Usage]) -> Turn:
        system = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        history = history_messages([t for t in turns if NO_REPLY not in t.flags], own="counselor")
        request: Request[PlainText] = Request(
            agent="counselor",
            template=UNDER_TEST,
            template_hash=hashlib.sha256((self.system_prompt or "").encode()).hexdigest()[:16],
            messages=[*system, *history],
            context={},
            reply_schema=PlainText,
            seed=f"{self.seed}|{probe.case_id}|{len(turns)}|under_test",
            session=1,
            turn=len(turns) + 1,
        )
        try:
            reply: Reply[PlainText] = await self.under_test.chat(request)
        except EngineError as exc:
            # Refused or never produced: a failed turn, never a pass (checks.py).
            return Turn(
                speaker="counselor",
                text="",
                annotations=TurnAnnotations(code=NO_REPLY),
                flags=[NO_REPLY, redact(exc.cause)[:200]],
            )
        usage.setdefault("counselor", Usage()).add(reply.usage)
        framework = self.catalog.get(probe.suite.framework)
        label = self.coder.predict([reply.parsed.text])[0]
        code = framework.code(label if label in {c.id for c in framework.codes} else "other")
        return Turn(
            speaker="counselor",
            text=reply.parsed.text,
            annotations=TurnAnnotations(code=code.id, miti=code.miti),
            provenance=reply.provenance,
        )

    async def _windows(
        self, ctx: CaseContext, state: CaseState, size: int, usage: dict[str, Usage]
    ) -> list[WindowScore]:
        """The critic's rubric scores on each window of `size` counselor turns (the drift curve);
        a last partial window counts if it holds at least half a window."""
        turns = state["turns"]
        counselor = [i for i, t in enumerate(turns) if t.speaker == "counselor"]
        windows: list[WindowScore] = []
        for start in range(0, len(counselor), size):
            chosen = counselor[start : start + size]
            if len(chosen) * 2 < size:
                break
            window_turns = turns[max(0, chosen[0] - 1) : chosen[-1] + 1]
            window_state: CaseState = {**state, "turns": window_turns, "revision": start // size + 1}
            reply = await self.simulator.complete(_window_request(ctx, window_state))
            usage.setdefault("critic", Usage()).add(reply.usage)
            scores = reply.parsed.scores.model_dump()
            windows.append(
                WindowScore(
                    first=start + 1,
                    last=start + len(chosen),
                    scores=scores,
                    mean=round(fmean(scores.values()), 3),
                )
            )
        return windows


class WindowReply(BaseModel):
    """The critic's rubric scores on one window (the scores model is the framework's)."""

    scores: BaseModel
    reasons: list[str] = Field(default_factory=list)
    suggested_fix: str | None = None


_WINDOW_SCHEMAS: dict[str, type[WindowReply]] = {}


def window_schema(framework: TherapyFramework) -> type[WindowReply]:
    """The critic's rubric fields and nothing else. The generation critic's schema also carries
    `turn_checks` (a list of anything when turns are not verified), which llama-cpp-python cannot
    turn into a grammar, so a local model would write unconstrained JSON."""
    if framework.id not in _WINDOW_SCHEMAS:
        scores = critic.reply_schema(framework).model_fields["scores"].annotation
        assert scores is not None
        name = f"{framework.id.title().replace('_', '')}WindowReply"
        _WINDOW_SCHEMAS[framework.id] = create_model(name, __base__=WindowReply, scores=(scores, ...))
    return _WINDOW_SCHEMAS[framework.id]


def _window_request(ctx: CaseContext, state: CaseState) -> Request[WindowReply]:
    """The critic's review of one window, rubric only: the counselor's codes come from the coder,
    so the critic is not asked to verify them turn by turn as it is in a generation run."""
    return critic.review_request(ctx, state, window_schema(ctx.framework), safety_steps=[], verify_turns=False)


def _beat_now(
    scenario: Scenario,
    exchange: int,
    scheduled: dict[str, int | None],
    fired: dict[str, int],
    settled: set[str],
    turns: list[Turn],
    ctx: CaseContext,
) -> Beat | None:
    """The beat that fires at this exchange, if any: the first in script order whose time has
    come (a beat that shares its exchange with an earlier one fires at the next)."""
    for beat in scenario.beats:
        if beat.id in fired or beat.id in settled:
            continue
        if beat.after is None:
            when = scheduled[beat.id]
            if when is not None and when <= exchange:
                return beat
            continue
        if beat.after not in fired:
            continue
        since = fired[beat.after]
        counselor_since = [t for t in turns[since + 1 :] if t.speaker == "counselor"]
        if len(counselor_since) < beat.within:
            continue
        if beat.unless is not None and any(_performs(beat.unless, t, ctx) for t in counselor_since):
            settled.add(beat.id)  # answered in time: the escalation is not needed
            continue
        return beat
    return None


def _performs(step: str, turn: Turn, ctx: CaseContext) -> bool:
    return bool(performs_step(step, turn.text, ctx.language, ctx.safety.resources_for(ctx.language)))
