"""The one Jinja environment that renders every prompt.

Templates live under `prompts/<agent>/<purpose>.jinja2`. A framework may override one with
`prompts/<agent>/<framework>/<purpose>.jinja2`. Undefined variables are errors, never blanks,
so a prompt cannot silently lose a piece of context. The environment is sandboxed, so a
template can only format its context.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from counselsynth.errors import PromptError
from counselsynth.resources import data_dir

SUFFIX = ".jinja2"


class PromptLibrary:
    def __init__(self, extra_folders: Sequence[Path] = ()) -> None:
        # Extra folders come first so a user's template overrides a shipped one.
        self.folders = (*extra_folders, data_dir("prompts"))
        # Sandboxed: a prompt pack from --prompts-dir is shared text, not code; it must not reach
        # Python internals (`''.__class__.__mro__`) or mutate the context. Rendering costs the same.
        self.env = ImmutableSandboxedEnvironment(
            loader=jinja2.FileSystemLoader([str(f) for f in self.folders]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            autoescape=False,
            # A template is read once per run: no stat() before every render, and a file edited
            # mid-run cannot make the text disagree with the template hash already recorded.
            auto_reload=False,
        )
        self._hashes: dict[str, str] = {}

    def resolve(self, agent: str, purpose: str, framework: str) -> str:
        specific = f"{agent}/{framework}/{purpose}{SUFFIX}"
        if specific in self.names:
            return specific
        generic = f"{agent}/{purpose}{SUFFIX}"
        if generic not in self.names:
            raise PromptError(f"no prompt template '{generic}' in {', '.join(map(str, self.folders))}")
        return generic

    def render(self, name: str, context: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context).strip()
        except jinja2.UndefinedError as exc:
            raise PromptError(f"prompt '{name}': {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise PromptError(f"prompt '{name}': {exc}") from None

    def template_hash(self, name: str) -> str:
        if name not in self._hashes:
            source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
            self._hashes[name] = hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]
        return self._hashes[name]

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(n for n in self.env.list_templates() if n.endswith(SUFFIX))

    def hashes(self) -> dict[str, str]:
        return {name: self.template_hash(name) for name in sorted(self.names)}
