"""Secrets are masked by value before any text is printed or stored.

The process keeps the values it was told are secret: the key behind every `api_key_env`, the
keys of a router config (literal, or litellm's `os.environ/NAME`), and the hub tokens. On top,
as a second net, every environment variable whose name looks like a credential (KEY, TOKEN,
SECRET, PASSWORD) is masked by value, and anything shaped like a provider key (`sk-...`,
`hf_...`) is masked in error text. Masking by value is what matters: a provider that echoes a
key in a 401 echoes it whatever the variable was called.

`mask` (the known values only) is for stored data (records, manifests, checkpoints, the response
cache), where a key-shaped pattern or a variable's value could be ordinary text; `redact` adds the
name heuristics and the shape patterns, for error text and for what leaves the machine (exports).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MASK = "***"
# Shorter values would mask ordinary words and numbers: no real credential is this short.
MIN_LENGTH = 8
HUB_TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
_NAME_MARKS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
_KEY_SHAPE = re.compile(r"\b(sk|hf|pk|rk)([-_])[A-Za-z0-9_\-]{6,}")
_ENV_REFERENCE = "os.environ/"
_known: set[str] = set()


def remember(*values: str | None) -> None:
    """Mark these values secret for the rest of the process."""
    _known.update(v for v in values if v and len(v) >= MIN_LENGTH)


def remember_variable(name: str | None) -> None:
    """Mark the value of environment variable `name` secret (the key behind `--api-key-env`)."""
    if name:
        remember(os.environ.get(name))


def remember_router(model_list: Sequence[Mapping[str, Any]] | None) -> None:
    """Mark every key in a litellm Router model_list secret, literal or `os.environ/NAME`."""
    for deployment in model_list or ():
        params = deployment.get("litellm_params") or {}
        for name, value in params.items():
            if not isinstance(value, str) or not any(m in name.upper() for m in _NAME_MARKS):
                continue
            if value.startswith(_ENV_REFERENCE):
                remember_variable(value.removeprefix(_ENV_REFERENCE))
            else:
                remember(value)


def secrets_in_environment() -> list[str]:
    """Values of every key- or token-like environment variable (the name heuristics)."""
    return [v for k, v in os.environ.items() if any(m in k.upper() for m in _NAME_MARKS) and len(v) >= MIN_LENGTH]


def known_secrets(extra: Iterable[str] = ()) -> list[str]:
    """The secrets this process was told of (and the hub tokens), longest first, so a key that
    contains another is masked whole."""
    hub = (os.environ.get(name) for name in HUB_TOKEN_VARIABLES)
    found = {*_known, *(v for v in (*hub, *extra) if v and len(v) >= MIN_LENGTH)}
    return sorted(found, key=len, reverse=True)


def _replace(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every known secret value replaced by ***. For stored data: the name heuristics
    are left out here, since a variable such as TOKEN_LIMIT=1000000 would rewrite a record."""
    return _replace(text, known_secrets(extra))


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """For error text: `mask`, the values of credential-like variables, and anything shaped like a
    provider key (providers echo key prefixes too)."""
    masked = _replace(text, {*known_secrets(extra), *secrets_in_environment()})
    return _KEY_SHAPE.sub(rf"\1\2{MASK}", masked)
