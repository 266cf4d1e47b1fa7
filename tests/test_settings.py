"""One settings object: RunSettings holds the defaults; the config file and the flags only override."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from conftest import run_cli

from counselsynth.runconfig import RUN_FIELDS, RunConfig
from counselsynth.settings import RunSettings, default_of


def test_generate_help_shows_the_run_defaults() -> None:
    code, out, _ = run_cli("generate", "--help")
    assert code == 0
    text = " ".join(out.replace("│", " ").split())
    for name in ("framework", "sessions", "seed", "max_revisions", "concurrency"):
        assert f"[default: {default_of(name)}]" in text, name


def test_unset_settings_take_the_run_defaults_and_set_ones_win(tmp_path: Path) -> None:
    unset = RunConfig().run_settings(tmp_path)
    assert unset == RunSettings(out_dir=tmp_path)
    chosen = RunConfig(sessions=5, max_revisions=0, seed=0).merged(concurrency=3).run_settings(tmp_path, resume=True)
    assert (chosen.sessions, chosen.max_revisions, chosen.concurrency, chosen.resume) == (5, 0, 3, True)
    assert chosen.framework == default_of("framework")


def test_every_run_config_setting_that_shapes_a_run_reaches_run_settings() -> None:
    shared = {f.name for f in fields(RunSettings)} & set(RunConfig.model_fields)
    assert shared == set(RUN_FIELDS)
