"""Shared fixtures. The network is off for every test: a socket to anything but loopback fails."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from counselsynth.engines import OfflineEngine
from counselsynth.frameworks import FrameworkCatalog, load_catalog
from counselsynth.models import Case
from counselsynth.personas import load_personas
from counselsynth.prompts import PromptLibrary
from counselsynth.runner import Generation, RunSettings

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_PERSONAS = ROOT / "personas"
# The real data beside the checkout; COUNSELSYNTH_SHARED_DATA points elsewhere (or nowhere, to test
# what happens without it).
SHARED_DATA = Path(os.environ.get("COUNSELSYNTH_SHARED_DATA") or ROOT.parent / "shared" / "data")


def needs_shared_data() -> None:
    """Skip without the real data on a developer's machine; in CI (CI set) its absence is a failure,
    so a CI run can never pass by silently skipping the real-data checks."""
    if SHARED_DATA.is_dir():
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but the real data is missing: {SHARED_DATA} is not a folder", pytrace=False)
    pytest.skip(f"needs the real data in {SHARED_DATA}")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("/"):
            raise OSError(f"network access blocked in tests: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_UPDATE_DOWNLOAD_COUNTS", "0")


@pytest.fixture(scope="session")
def catalog() -> FrameworkCatalog:
    return load_catalog()


def persona_record(**overrides: Any) -> dict[str, Any]:
    """A valid persona record; tests override what they need."""
    record: dict[str, Any] = yaml.safe_load((Path(__file__).parent / "fixtures" / "persona.yaml").read_text())
    record.update(overrides)
    return record


def write_personas(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump(records, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def generate(personas: Path, out: Path, catalog: FrameworkCatalog | None = None, **settings: Any) -> list[Case]:
    """Run the real pipeline with the offline engine and return the cases it wrote."""
    catalog = catalog or load_catalog()
    loaded = load_personas(personas, catalog.frameworks)
    run = Generation(loaded, catalog, PromptLibrary(), OfflineEngine(), RunSettings(out_dir=out, **settings))
    asyncio.run(run.run())
    return [Case.model_validate_json(line) for line in (out / "dialogues.jsonl").read_text().splitlines()]


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the `counselsynth` command in-process: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from counselsynth.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def tmp_personas(tmp_path: Path) -> Iterator[Path]:
    yield write_personas(tmp_path / "personas.yaml", [persona_record()])
