"""When the safety protocol is required, and which of its steps a session still lacks."""

from __future__ import annotations

from collections.abc import Sequence

from counselsynth.graph.context import CaseContext
from counselsynth.models import Turn
from counselsynth.safety_text import performs_step


def disclosed(turns: Sequence[Turn]) -> bool:
    return any(t.annotations.safety_events for t in turns if t.speaker == "client")


def required_steps(ctx: CaseContext, turns: Sequence[Turn], session_index: int) -> list[str]:
    """Protocol steps this session must contain: all of them after a disclosure, and the
    session's required set whenever the persona's risk is elevated."""
    if disclosed(turns):
        return list(ctx.safety.first_session)
    if ctx.persona.risk.elevated:
        return ctx.safety.required_steps(session_index)
    return []


def performed_steps(ctx: CaseContext, turns: Sequence[Turn]) -> set[str]:
    """Safety steps whose turns say what their label claims: the text check where there is one
    (crisis resources, a risk question in a language with risk patterns), and the critic's
    verdict once it has read the session; before that, a step the text cannot check counts on
    its label."""
    resources = ctx.safety.resources_for(ctx.language)
    return {
        code
        for t in turns
        if t.speaker == "counselor" and (code := t.annotations.code) is not None
        if performs_step(code, t.text, ctx.language, resources) is not False and t.annotations.verified is not False
    }


def missing_steps(ctx: CaseContext, turns: Sequence[Turn], session_index: int) -> list[str]:
    done = performed_steps(ctx, turns)
    return [step for step in required_steps(ctx, turns, session_index) if step not in done]
