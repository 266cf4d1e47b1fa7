"""The Jinja environment for the export's own templates (the dataset card, the system message).

These templates are package data under `export/templates/`, not prompts: the prompt library under
`prompts/` renders what the generator's agents are sent, and its hashes go into every run's
manifest. Like the prompt library, undefined variables are errors, never blanks.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

import jinja2

from counselsynth.errors import PromptError

PACKAGE = "counselsynth.export"


def table_cell(value: object) -> str:
    """Text that stays inside one Markdown table cell."""
    return " ".join(str(value).split()).replace("|", "\\|")


def percent(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(PACKAGE, "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["cell"] = table_cell
    env.filters["percent"] = percent
    return env


def render(name: str, context: dict[str, Any]) -> str:
    try:
        return environment().get_template(name).render(context)
    except jinja2.UndefinedError as exc:
        raise PromptError(f"template '{name}': {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise PromptError(f"template '{name}': {exc}") from None


@cache
def template_hash(name: str) -> str:
    env = environment()
    source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]
