"""Secrets are masked by value: whatever the variable is called, wherever a provider echoes it.

The loopback server's `echo_key_401` mode answers like OpenAI does to a wrong key, with the key
in the message. The key lives in a variable whose name the name heuristics do not catch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import persona_record, run_cli, write_personas

from counselsynth.redaction import mask, redact, remember_router
from counselsynth.testing.loopback import LoopbackConfig, LoopbackServer

CREDENTIAL = "loopback-cred-7f3a9c2e41d8"  # not sk-/hf_-shaped
ROUTER_KEY = "router-literal-5b6c7d8e9f"


@pytest.fixture
def personas(tmp_path: Path) -> Path:
    return write_personas(tmp_path / "p.yaml", [persona_record(id="p1"), persona_record(id="p2")])


def _assert_nowhere(secret: str, stderr: str, folder: Path) -> None:
    assert secret not in stderr
    stored = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "checkpoints.sqlite" for p in stored), stored
    for path in stored:
        assert secret.encode() not in path.read_bytes(), path


def test_a_key_echoed_in_a_401_is_masked_in_the_error_and_in_every_stored_file(
    tmp_path: Path, personas: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_CRED", CREDENTIAL)
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(echo_key_401=True)) as server:
        code, out_text, err = run_cli(
            "generate", str(personas), "--out", str(out), "--model", "openai/loopback",
            "--api-base", server.base_url, "--api-key-env", "LLM_CRED",
        )  # fmt: skip
        assert server.stats.faults.get("401", 0) >= 1
    # The preflight probe is answered; every real call is refused, so every case fails.
    assert code == 3 and "2 × 'openai/loopback' refused the credentials (HTTP 401)" in out_text
    lines = (out / "failures.jsonl").read_text().splitlines()
    assert len(lines) == 2
    for line in lines:
        # Not retried, and not reported as if it had been.
        assert "failed on the first attempt, not retried (AuthenticationError)" in line
        assert "Incorrect API key provided: ***" in line
    _assert_nowhere(CREDENTIAL, err, out)


def test_a_literal_key_in_a_router_config_is_masked(tmp_path: Path, personas: Path) -> None:
    out = tmp_path / "run"
    with LoopbackServer(LoopbackConfig(echo_key_401=True)) as server:
        deployment: dict[str, Any] = {
            "model_name": "pool",
            "litellm_params": {"model": "openai/loopback", "api_base": server.base_url, "api_key": ROUTER_KEY},
        }
        config = tmp_path / "run.yaml"
        config.write_text(yaml.safe_dump({"router": [deployment]}))
        code, _, err = run_cli("generate", str(personas), "--out", str(out), "--config", str(config))
    assert code == 3 and "AuthenticationError" in (out / "failures.jsonl").read_text()
    _assert_nowhere(ROUTER_KEY, err, out)


def test_masking_by_value_with_the_name_heuristics_as_a_second_net(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-0123456789")
    monkeypatch.setenv("HF_TOKEN", "hub-abcdefghij")
    monkeypatch.setenv("VAULT_REF", "vault-value-0001")
    remember_router([{"litellm_params": {"api_key": "os.environ/VAULT_REF", "model": "m"}}])
    monkeypatch.setenv("TOKEN_LIMIT", "12345678")
    text = "a tok-0123456789 b hub-abcdefghij c vault-value-0001 d sk-abcdefghijk e pk_depression f 12345678"
    # Stored data: the known values only; a credential-like name alone does not rewrite a record.
    assert mask(text) == "a tok-0123456789 b *** c *** d sk-abcdefghijk e pk_depression f 12345678"
    # Error text: the name heuristics and key shapes too.
    assert redact(text) == "a *** b *** c *** d sk-*** e pk_*** f ***"
    assert redact("short key abcdef", ["abcdef"]) == "short key abcdef"  # too short to be a credential
