"""Graph nodes: each asks one agent for one step and returns a partial state update."""

from __future__ import annotations

import random
from typing import Any

from langgraph.runtime import Runtime

from counselsynth.agents import client, counselor, critic, planner, summarizer
from counselsynth.agents.lengthgate import complete_within
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState, counselor_turns, planned_exchanges, state_key
from counselsynth.models import PhasePlan, Session, Speaker, Usage

Update = dict[str, Any]
# The longest run of one speaker's turns in an exchange: real runs are short, and a bound keeps a
# form with a high continuation chance from looping.
MAX_RUN = 4


async def plan(state: CaseState, runtime: Runtime[CaseContext]) -> Update:
    ctx = runtime.context
    severity = ctx.persona.severity
    start: CaseState = {
        "session_index": 1,
        "revision": 0,
        "turns": [],
        "critiques": [],
        "sessions": [],
        "phq9": severity.phq9,
        "gad7": severity.gad7,
        "stage_of_change": ctx.persona.stage_of_change,
        "summaries": [],
        "homework": None,
        "plan": [],
    }
    reply = await ctx.engine.complete(planner.request(ctx, start))
    return {**start, "plan": planner.plan(ctx, reply), "usage": {"planner": reply.usage}}


async def exchange(state: CaseState, runtime: Runtime[CaseContext]) -> Update:
    """The counselor's turn and the client's answer, as one graph step.

    Either speaker may go on with another turn of their own (a split utterance), as often as the
    framework's turn form says real speakers do; a counselor's second turn uses up a planned
    turn like any other. Every turn is asked for at a length drawn from the form and passes the
    length gate (at most one counted re-ask).

    One step per exchange rather than per turn halves LangGraph's per-step work and the
    checkpoints written with sync durability. A case killed between the calls repeats them on
    resume, and the response cache answers them without a new request.
    """
    ctx = runtime.context
    turns = list(state.get("turns", []))
    usage = {"counselor": Usage(), "client": Usage()}
    for _ in range(MAX_RUN):
        now: CaseState = {**state, "turns": turns}
        code = counselor.choose_code(ctx, now)
        target = counselor.target_words(ctx, now, code)
        # The protocol's wording is kept whole: a safety step is asked for a length, never cut back.
        gate = None if code.safety_step else target
        said, flags = await complete_within(ctx, counselor.request(ctx, now, code, target), gate)
        turns.append(counselor.turn(said, code, now, target, flags))
        usage["counselor"].add(said.usage)
        now = {**state, "turns": turns}
        if counselor_turns(now) >= planned_exchanges(now) or not _goes_on(ctx, now, "counselor"):
            break
    for _ in range(MAX_RUN):
        now = {**state, "turns": turns}
        ask = client.request(ctx, now)
        target = ask.context["target_words"]
        protocol = ask.context["disclose"] or ask.context["safety_step"]
        answer, flags = await complete_within(ctx, ask, None if protocol else target)
        turns.append(client.turn(ctx, answer, target, flags))
        usage["client"].add(answer.usage)
        if not _goes_on(ctx, {**state, "turns": turns}, "client"):
            break
    return {"turns": turns, "usage": usage}


def _goes_on(ctx: CaseContext, state: CaseState, speaker: Speaker) -> bool:
    return ctx.form.continues(speaker, random.Random(ctx.seed_for(f"{speaker}_goes_on", state_key(state))))


async def critique(state: CaseState, runtime: Runtime[CaseContext]) -> Update:
    ctx = runtime.context
    reply = await ctx.engine.complete(critic.request(ctx, state))
    verdict, turns = critic.critique(ctx, state, reply)
    return {"critiques": [*state.get("critiques", []), verdict], "turns": turns, "usage": {"critic": reply.usage}}


async def revise(state: CaseState, runtime: Runtime[CaseContext]) -> Update:
    # The failed attempt's critique stays in `critiques`; the turns are redone from the start.
    discarded = state.get("discarded_counselor_turns", 0) + counselor_turns(state)
    return {"revision": state.get("revision", 0) + 1, "turns": [], "discarded_counselor_turns": discarded}


async def summarize(state: CaseState, runtime: Runtime[CaseContext]) -> Update:
    ctx = runtime.context
    reply = await ctx.engine.complete(summarizer.request(ctx, state))
    notes = summarizer.summary(ctx, reply)
    critiques = state["critiques"]
    plan = state["plan"][state["session_index"] - 1]
    session = Session(
        index=state["session_index"],
        plan=[PhasePlan(phase=p, exchanges=n) for p, n in plan["phases"]],
        turns=state["turns"],
        critique=critiques[-1],
        critique_history=critiques[:-1],
        revisions=state.get("revision", 0),
        revisions_exhausted=not critiques[-1].passed,
        discarded_counselor_turns=state.get("discarded_counselor_turns", 0),
        summary=notes,
    )
    return {
        "sessions": [*state["sessions"], session],
        "summaries": [*state.get("summaries", []), notes.summary],
        "homework": notes.homework,
        "phq9": notes.phq9,
        "gad7": notes.gad7,
        "stage_of_change": notes.stage_of_change,
        "session_index": state["session_index"] + 1,
        "revision": 0,
        "discarded_counselor_turns": 0,
        "turns": [],
        "critiques": [],
        "usage": {"summarizer": reply.usage},
    }
