"""A loopback OpenAI-compatible server: the strict test double at the HTTP boundary.

It serves `POST /v1/chat/completions` on 127.0.0.1 and answers with content that matches the
request's JSON schema (from `response_format`, or from the `<json-schema>` block the LLM engine
puts in the prompt when a provider lacks schema support). Latency and faults (429, 500,
timeouts, malformed JSON) are configurable, and so are the ways real servers differ: refusing
`json_schema` as llama-cpp-python does (HTTP 500) while honouring `json_object` with a schema,
sloppy replies (fences, prose, integers past their bounds, enum values in capitals), replies
that break every schema, outage windows, HTML pages, errors for everything, and a required key.
A request with `max_tokens: 1` is a probe (the engine's preflight and outage checks). Anything
else it is sent is recorded as unexpected and answered 404, so a test can assert that the code
under test made only the calls it should.

The code under test is the real litellm path; nothing in the project is mocked.

    python -m counselsynth.testing.loopback --latency 1.0      # prints the base URL, serves until killed
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, get_args

from counselsynth.testing.counselor import CounselorMode, counselor_reply, is_counselor_request
from counselsynth.testing.replies import instance, schema_of, sloppy, steer
from counselsynth.testing.translation import SCHEMAS as TRANSLATION_SCHEMAS
from counselsynth.testing.translation import TranslationDouble

FAULTS = ("429", "500", "timeout", "malformed")


@dataclass
class LoopbackConfig:
    latency: float = 0.0
    # Probability of each fault per request, e.g. {"429": 0.05, "timeout": 0.05}.
    faults: dict[str, float] = field(default_factory=dict)
    # How long a "timeout" fault stalls before closing the connection without an answer.
    stall: float = 5.0
    seed: int = 0
    model_prefix: str = ""
    # Answer translation requests as a translator would (translation.py), corrupting
    # the given share of answers of each kind, e.g. {"script": 0.2}.
    translate: bool = False
    corrupt: dict[str, float] = field(default_factory=dict)
    # Answer every completion but probes 401 with the request's key in the message, as OpenAI
    # does for a wrong key: the case where a provider echoes a secret mid-run.
    echo_key_401: bool = False
    # llama-cpp-python's server: json_schema is refused with a 500, json_object + schema honoured.
    reject_json_schema: bool = False
    reject_formats: bool = False  # a server that knows no response_format at all (HTTP 400)
    # Share of replies with repairable defects, and of replies that no repair can save.
    sloppy: float = 0.0
    break_schema: float = 0.0
    # Down from `start` to `start + duration` seconds after the first request: connections are
    # dropped unanswered, or answered with `outage_status` (502/503/504) when that is set.
    outage: tuple[float, float] | None = None
    outage_status: int | None = None
    # A counselor request whose instruction names one of these codes is answered with its text
    # (a model that says what it is asked), and booleans are true with this probability instead
    # of one half (the critic's turn verdicts: a set share of turns judged not to perform their code).
    say_for_code: dict[str, str] = field(default_factory=dict)
    true_share: float | None = None
    html: bool = False  # a web page rather than an API
    fail_all: int | None = None  # answer every request with this HTTP status
    api_key: str | None = None  # require "Authorization: Bearer <key>"
    words: int | None = None  # every string about this many words, whatever length is asked for
    # Answer plain chat requests (no schema) as a counselor under test would (testing/counselor.py).
    counselor: CounselorMode | None = None


@dataclass
class LoopbackStats:
    requests: int = 0
    completions: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    probes: int = 0
    refused: dict[str, int] = field(default_factory=dict)


class _QuietServer(ThreadingHTTPServer):
    # A client opening hundreds of connections at once (--concurrency 256) overflows the default
    # listen backlog of 5: the kernel drops the extra SYNs and the client resends them after 1, 3,
    # 7 ... seconds, which a real inference server's larger backlog never costs.
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gives up on a request (a cancelled run, a timeout) closes its socket
        # mid-answer; that is the client's business, not a server error worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class BackgroundHTTPServer:
    """An HTTP server on 127.0.0.1 at a free port, served from a daemon thread while in `with`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class LoopbackServer(BackgroundHTTPServer):
    """Start with `with LoopbackServer(config) as server:`; `server.base_url` ends in /v1."""

    def __init__(self, config: LoopbackConfig | None = None, *, keep_bodies: bool = False) -> None:
        self.config = config or LoopbackConfig()
        self.stats = LoopbackStats()
        self.keep_bodies = keep_bodies
        self._lock = threading.Lock()
        self._rng = random.Random(self.config.seed)
        self.translator = TranslationDouble(self.config.corrupt) if self.config.translate else None
        self._first_request: float | None = None
        super().__init__(_handler_for(self))

    def down(self) -> bool:
        """Whether this moment falls in the configured outage window."""
        with self._lock:
            now = time.monotonic()
            if self._first_request is None:
                self._first_request = now
            elapsed = now - self._first_request
        window = self.config.outage
        return window is not None and window[0] <= elapsed < window[0] + window[1]

    def refuse(self, why: str) -> None:
        with self._lock:
            self.stats.refused[why] = self.stats.refused.get(why, 0) + 1

    def draw(self, share: float, digest: str, salt: str) -> bool:
        # Decided by the request's own bytes, so a repeated request meets the same fate.
        return share > 0 and int(hashlib.sha256((salt + digest).encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share

    @property
    def base_url(self) -> str:
        return f"{self.address}/v1"

    def draw_fault(self) -> str | None:
        with self._lock:
            point = self._rng.random()
        cumulative = 0.0
        for fault in FAULTS:
            cumulative += self.config.faults.get(fault, 0.0)
            if point < cumulative:
                return fault
        return None

    def record(self, key: str, body: dict[str, Any] | None = None) -> None:
        with self._lock:
            self.stats.requests += key != "unexpected"
            if key in (*FAULTS, "401"):
                self.stats.faults[key] = self.stats.faults.get(key, 0) + 1
            elif key == "completion":
                self.stats.completions += 1
                if self.keep_bodies and body is not None:
                    self.stats.bodies.append(body)


def _handler_for(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            return

        def do_GET(self) -> None:
            self._unexpected()

        def do_POST(self) -> None:
            with server._lock:
                server.stats.in_flight += 1
                server.stats.max_in_flight = max(server.stats.max_in_flight, server.stats.in_flight)
            try:
                self._complete()
            finally:
                with server._lock:
                    server.stats.in_flight -= 1

        def _complete(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._unexpected()
                return
            try:
                body = json.loads(raw)
                messages = body["messages"]
                model = body["model"]
            except (ValueError, KeyError, TypeError):
                self._unexpected("malformed request body")
                return
            if self._refused(body):
                return
            if body.get("max_tokens") == 1:  # a probe: random faults are for the real requests
                with server._lock:
                    server.stats.probes += 1
                self._answer(model, "OK", messages, "probe")
                return
            if server.config.echo_key_401:
                server.record("401")
                key = self.headers.get("Authorization", "").removeprefix("Bearer ")
                message = f"Incorrect API key provided: {key}. You can find your API key at https://example.invalid."
                self._send(401, {"error": {"message": message, "type": "invalid_request_error"}})
                return
            fault = server.draw_fault()
            if server.config.latency:
                time.sleep(server.config.latency)
            if fault == "timeout":
                server.record(fault)
                time.sleep(server.config.stall)
                self.close_connection = True
                return
            if fault in ("429", "500"):
                server.record(fault)
                status = int(fault)
                self._send(status, {"error": {"message": f"loopback fault {status}", "type": "loopback"}})
                return
            schema = schema_of(body, messages)
            digest = hashlib.sha256(raw).hexdigest()
            reply = _translation(server, body, messages, random.Random(digest))
            if server.config.counselor is not None and is_counselor_request(body, messages):
                server.record("completion", body)
                self._answer(
                    model, counselor_reply(server.config.counselor, messages, random.Random(digest)), messages, digest
                )
                return
            if reply is None:
                reply = instance(schema, random.Random(digest), words=server.config.words)
                steer(reply, messages, server.config.say_for_code, server.config.true_share, random.Random(digest))
            content = json.dumps(reply, ensure_ascii=False)
            if server.draw(server.config.break_schema, digest, "break"):
                content = "[]" if int(digest[0], 16) % 2 else "I would rather just talk, without any format."
            elif server.draw(server.config.sloppy, digest, "sloppy"):
                content = sloppy(reply, schema, random.Random(digest))
            if fault == "malformed":
                server.record(fault)
                content = content[: max(1, len(content) // 2)]
            else:
                server.record("completion", body)
            self._answer(model, content, messages, digest)

        def _refused(self, body: dict[str, Any]) -> bool:
            """Answers of a server that is down, not an API, failing, keyed, or strict about formats."""
            config = server.config
            if server.down():
                server.refuse("outage")
                if config.outage_status is None:
                    self.close_connection = True  # dropped unanswered, as by a crashed server
                else:
                    self._send(config.outage_status, {"error": {"message": "upstream unavailable"}})
                return True
            if config.api_key is not None and self.headers.get("Authorization") != f"Bearer {config.api_key}":
                server.refuse("401")
                self._send(401, {"error": {"message": "Invalid API key", "type": "invalid_request_error"}})
                return True
            if config.html:
                server.refuse("html")
                self._send(200, b"<!doctype html><html><body><h1>Welcome</h1></body></html>", "text/html")
                return True
            if config.fail_all is not None:
                server.refuse(str(config.fail_all))
                self._send(config.fail_all, {"error": {"message": f"loopback answers {config.fail_all}"}})
                return True
            kind = (body.get("response_format") or {}).get("type")
            if config.reject_formats and kind is not None:
                server.refuse(kind)
                self._send(400, {"error": {"message": "Unrecognized request argument supplied: response_format"}})
                return True
            if config.reject_json_schema and kind == "json_schema":
                server.refuse("json_schema")
                # What llama-cpp-python's server answers (its request model allows text and json_object).
                message = (
                    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
                    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
                )
                self._send(500, {"error": {"message": message, "type": "internal_server_error"}})
                return True
            return False

        def _answer(self, model: str, content: str, messages: list[dict[str, Any]], digest: str) -> None:
            prompt_chars = sum(len(str(m.get("content", ""))) for m in messages)
            self._send(
                200,
                {
                    "id": f"chatcmpl-{digest[:12]}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                    ],
                    "usage": {
                        "prompt_tokens": max(1, prompt_chars // 4),
                        "completion_tokens": max(1, len(content) // 4),
                        "total_tokens": max(1, prompt_chars // 4) + max(1, len(content) // 4),
                    },
                },
            )

        def _unexpected(self, why: str = "") -> None:
            with server._lock:
                server.stats.unexpected.append(f"{self.command} {self.path} {why}".strip())
            self._send(404, {"error": {"message": "unexpected request to the loopback server"}})

        def _send(self, status: int, payload: dict[str, Any] | bytes, kind: str = "application/json") -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _translation(
    server: LoopbackServer, body: dict[str, Any], messages: list[dict[str, Any]], rng: random.Random
) -> dict[str, Any] | None:
    name = ((body.get("response_format") or {}).get("json_schema") or {}).get("name")
    if server.translator is None or name not in TRANSLATION_SCHEMAS:
        return None
    return server.translator.reply(name, messages, rng)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a loopback OpenAI-compatible endpoint until killed.")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0, help="total fault rate, split over the four kinds")
    parser.add_argument("--stall", type=float, default=5.0)
    parser.add_argument("--translate", action="store_true", help="answer translation requests (augment)")
    parser.add_argument("--echo-key-401", action="store_true", help="answer 401 with the request's key in it")
    parser.add_argument("--counselor", choices=get_args(CounselorMode), help="play a counselor under test")
    args = parser.parse_args()
    faults = dict.fromkeys(FAULTS, args.fault_rate / len(FAULTS)) if args.fault_rate else {}
    config = LoopbackConfig(
        latency=args.latency,
        faults=faults,
        stall=args.stall,
        translate=args.translate,
        echo_key_401=args.echo_key_401,
        counselor=args.counselor,
    )
    with LoopbackServer(config) as server:
        print(server.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
