"""Checks before any case starts: the model string, the key, and whether the endpoint answers.

Everything a user can get wrong about an endpoint (a typo in the model, a missing key, a server
that is not running, one that wants a key, a URL that is not an OpenAI-compatible API, one that
answers every request with an error) is found here with one small request, and reported as one
line with exit code 2, instead of as a run whose every case fails.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any
from urllib.parse import urlparse

from counselsynth.engines.provider_errors import classify, first_line, status_of
from counselsynth.errors import InputError
from counselsynth.redaction import redact

PROBE_MESSAGES = [{"role": "user", "content": "Reply with OK."}]
PROBE_ATTEMPTS = 3


def check_model(litellm: Any, model: str, api_base: str | None, agent: str) -> None:
    try:
        litellm.get_llm_provider(model=model, api_base=api_base)
    except Exception:
        raise InputError(
            f"unknown model '{model}' for the {agent}: use a litellm model string "
            "such as openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest or ollama/llama3.1"
        ) from None


def check_key(litellm: Any, model: str, api_key_env: str | None, api_base: str | None) -> None:
    if api_key_env:
        if not os.environ.get(api_key_env):
            raise InputError(f"missing API key: the environment variable {api_key_env} is not set")
        return
    if api_base:
        return  # a self-hosted endpoint needs no key; the engine sends a placeholder
    missing = litellm.validate_environment(model=model).get("missing_keys") or []
    if missing:
        raise InputError(f"missing API key for '{model}': set {', '.join(missing)}")


def check_reachable(api_base: str) -> None:
    url = urlparse(api_base)
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=5):
            return
    except OSError as exc:
        raise InputError(
            f"cannot reach {url.scheme}://{host}:{port} ({exc.strerror or exc}); is the server running?"
        ) from None


def probe(litellm: Any, kwargs: dict[str, Any], api_base: str, pause: float) -> None:
    """One tiny completion (a single token): the endpoint must answer it like an OpenAI API."""
    where = f"{api_base} (model '{kwargs['model']}')"
    problem = ""
    for attempt in range(PROBE_ATTEMPTS):
        try:
            response = litellm.completion(messages=PROBE_MESSAGES, max_tokens=1, **kwargs)
        except Exception as exc:
            status = status_of(exc)
            verdict = classify(exc, sent_format=False)
            if status in (401, 403):
                raise InputError(f"{where} refused the request (HTTP {status}): check --api-key-env") from None
            if status == 404:
                raise InputError(
                    f"{where} answered 404 to POST /chat/completions: not an OpenAI-compatible API "
                    "(does --api-base end in /v1?), or the server does not serve this model"
                ) from None
            if verdict == "fatal":
                raise InputError(f"{where} rejected a minimal request: {_short(exc)}") from None
            problem = _short(exc)
            time.sleep(pause * (2**attempt))
            continue
        if getattr(response, "choices", None):
            return
        problem = "the answer holds no choices"
    raise InputError(f"{where} answered none of {PROBE_ATTEMPTS} probes like an OpenAI-compatible API: {problem}")


def _short(exc: BaseException) -> str:
    return redact(first_line(exc))[:200]
