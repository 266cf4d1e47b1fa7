"""How every agent assembles its request: a stable prefix first, then the dialogue.

Messages are append-only within a session: the system prompt (persona, framework, memory) and
the dialogue so far come first and never change, and the instruction for this call comes last.
That keeps provider prefix caches warm.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from counselsynth.engines.base import Request, T, prefix_share, prompt_text
from counselsynth.graph.context import CaseContext
from counselsynth.graph.state import CaseState, state_key
from counselsynth.languages import prompt_language
from counselsynth.models import AgentName, Speaker, Turn


def memory(state: CaseState) -> dict[str, Any]:
    return {
        "session_index": state["session_index"],
        "summaries": state.get("summaries", []),
        "homework": state.get("homework"),
        "phq9": state["phq9"],
        "gad7": state["gad7"],
        "stage_of_change": state["stage_of_change"],
    }


def history_messages(turns: Sequence[Turn], own: Speaker) -> list[dict[str, str]]:
    return [{"role": "assistant" if t.speaker == own else "user", "content": t.text} for t in turns]


def recent_texts(turns: Sequence[Turn], speaker: Speaker, count: int = 8) -> list[str]:
    return [t.text for t in turns if t.speaker == speaker][-count:]


def build_request(
    ctx: CaseContext,
    state: CaseState,
    *,
    agent: AgentName,
    purpose: str,
    variables: Mapping[str, Any],
    schema: type[T],
    context: Mapping[str, Any],
    history: list[dict[str, str]] | None = None,
) -> Request[T]:
    prompts = ctx.prompts
    system_name = prompts.resolve(agent, "system", ctx.framework.id)
    task_name = prompts.resolve(agent, purpose, ctx.framework.id)
    language_name, address = prompt_language(ctx.language)
    shared = {
        "persona": ctx.persona,
        "framework": ctx.framework,
        "language": ctx.language,
        "language_name": language_name,
        "address": address,
        **memory(state),
    }
    stream = f"{agent}|{state.get('session_index', 0)}|{state.get('revision', 0)}"
    # The system prompt depends only on the case and the session's memory: render it once.
    system = ctx.system_prompts.get(stream) or ctx.system_prompts.setdefault(
        stream, prompts.render(system_name, shared)
    )
    messages = [
        {"role": "system", "content": system},
        *(history or []),
        {"role": "user", "content": prompts.render(task_name, {**shared, **variables})},
    ]
    template_hash = f"{prompts.template_hash(system_name)}+{prompts.template_hash(task_name)}"
    text = prompt_text(messages)
    previous = ctx.last_prompts.get(stream)
    ctx.last_prompts[stream] = text
    return Request(
        agent=agent,
        template=task_name,
        template_hash=template_hash,
        messages=messages,
        context={"persona": ctx.persona, "language": ctx.language, "framework": ctx.framework.id, **context},
        reply_schema=schema,
        seed=ctx.seed_for(agent, state_key(state)),
        prefix_share=prefix_share(previous, text),
        priority=remaining_calls(state),
        session=state.get("session_index"),
        turn=len(state.get("turns", [])) + 1 if agent in ("counselor", "client") else None,
    )


def remaining_calls(state: CaseState) -> float:
    """The calls this case still expects from its plan: a client and a counselor call per planned
    exchange, a critic and a summarizer call per session (revisions cannot be foreseen)."""
    plan = state.get("plan")
    if not plan:
        return float("inf")  # the planner's call: nothing is known yet, so start the case now
    current = state.get("session_index", 1)
    ahead = sum(2 * sum(n for _, n in session["phases"]) + 2 for session in plan[current - 1 :])
    return float(max(1, ahead - len(state.get("turns", []))))
