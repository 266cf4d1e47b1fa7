"""Graph nodes: each asks one agent for one step and returns a partial state update."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from counselsynth.agents import client, counselor, critic, planner, summarizer
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState, counselor_turns
from counselsynth.models import PhasePlan, Session

Update = dict[str, Any]


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

    One step per exchange rather than per turn halves LangGraph's per-step work and the
    checkpoints written with sync durability. A case killed between the two calls repeats the
    counselor's call on resume, and the response cache answers it without a new request.
    """
    ctx = runtime.context
    code = counselor.choose_code(ctx, state)
    said = await ctx.engine.complete(counselor.request(ctx, state, code))
    turns = [*state.get("turns", []), counselor.turn(said, code, state)]
    answer = await ctx.engine.complete(client.request(ctx, {**state, "turns": turns}))
    return {
        "turns": [*turns, client.turn(ctx, answer)],
        "usage": {"counselor": said.usage, "client": answer.usage},
    }


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
