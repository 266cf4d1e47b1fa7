"""What a provider's error means for the call that got it.

litellm maps HTTP answers to exception classes, but not always usefully: a refused connection
and a request-validation error both arrive as `InternalServerError` (status 500), and only the
message tells them apart. Every decision about an error (retry it, wait out an outage, try
another structured-output mode, or give up on the call) is made here, in one place.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from counselsynth.engines.base import Request
from counselsynth.errors import EngineError
from counselsynth.redaction import redact

Verdict = Literal["transient", "outage", "format_rejected", "fatal"]

# A server that validates requests (FastAPI/pydantic in llama-cpp-python, vLLM) names the field
# it rejected; some answer such a rejection with 500 instead of 400 or 422.
_VALIDATION = re.compile(r"validation error|literal_error|unprocessable|Input should be", re.IGNORECASE)
_FORMAT = re.compile(r"response_format|json_schema|json_object|guided_json|grammar", re.IGNORECASE)
_CONNECTION = re.compile(r"connection error|connection refused|connect(ion)? ?(timed out|reset)", re.IGNORECASE)
_CREDENTIALS = re.compile(r"missing credentials", re.IGNORECASE)
_NOT_TRANSIENT = (400, 401, 403, 404, 422)


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def classify(exc: BaseException, sent_format: bool) -> Verdict:
    """`format_rejected` only when a response_format was sent and the error names it (or is a
    plain 400/422, which is what most servers answer to a field they do not know)."""
    message = str(exc)
    status = status_of(exc)
    name = type(exc).__name__
    if name == "_MalformedResponse":
        return "transient"
    if status in (502, 503, 504) or name in ("APIConnectionError", "BadGatewayError", "ServiceUnavailableError"):
        return "outage"
    if status == 500 and _CONNECTION.search(message):
        return "outage"  # litellm reports a refused connection as a 500
    validation = status is not None and status >= 500 and bool(_VALIDATION.search(message))
    if sent_format and (status in (400, 422) or validation) and _FORMAT.search(message):
        return "format_rejected"
    if sent_format and status in (400, 422) and name == "BadRequestError":
        return "format_rejected"
    if status in _NOT_TRANSIENT or validation:
        return "fatal"
    if _CREDENTIALS.search(message):
        return "fatal"  # litellm reports a missing key as a 500 before any request is sent
    return "transient"


def cause_of(exc: BaseException, model: str) -> str:
    """A short reason that is the same for every case it happens to, so failures can be counted."""
    name = type(exc).__name__
    status = status_of(exc)
    if name == "ContextWindowExceededError":
        return f"the prompt exceeded the context window of '{model}'"
    if name == "ContentPolicyViolationError":
        return f"'{model}' refused the request (content filter)"
    if status in (401, 403):
        return f"'{model}' refused the credentials (HTTP {status})"
    if status is not None:
        return f"'{model}' answered HTTP {status} ({name})"
    return f"'{model}' failed ({name})"


def first_line(exc: Any) -> str:
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def call_failure(request: Request[Any], model: str, exc: BaseException | str, attempts: int = 1) -> EngineError:
    """The error that fails this call (and its case), with its countable cause and its place."""
    if isinstance(exc, str):
        cause = message = f"'{model}': {exc}"
    else:
        cause = cause_of(exc, model)
        # Only transient failures are retried: a 401 or a 400 is reported as the one try it was.
        tries = f"after up to {attempts} attempts" if attempts > 1 else "on the first attempt, not retried"
        message = f"'{model}' failed {tries} ({type(exc).__name__}): {first_line(exc)[:300]}"
    return EngineError(
        redact(message),
        attempts=attempts,
        cause=redact(cause),
        agent=request.agent,
        session=request.session,
        turn=request.turn,
    )
