"""The test doubles in `counselsynth.testing` run as commands too, for benchmarks and manual tries."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request

import pytest


@pytest.mark.parametrize(
    ("module", "args"),
    [("counselsynth.testing.loopback", ["--latency", "0"]), ("counselsynth.testing.hub", ["--token", "t"])],
)
def test_a_double_serves_on_loopback_and_refuses_what_it_does_not_expect(module: str, args: list[str]) -> None:
    server = subprocess.Popen([sys.executable, "-m", module, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base_url.rstrip("/") + "/not-an-endpoint", timeout=10)
        assert refused.value.code in (401, 404)
    finally:
        server.terminate()
        server.wait(timeout=10)
