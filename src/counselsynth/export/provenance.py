"""The run's own files that travel with an export, so the corpus can be traced and regenerated.

- `run/manifest.json`: the run's manifest as written by `generate` (status, settings, versions,
  hashes, counts). Any value of a key- or token-like environment variable is masked first, so a
  secret can never reach the hub through it, and absolute paths lose the folder that holds the
  run's inputs, which describes the author's machine, not the data.
- `run/run_config.yaml`: the run's settings as a `--config` file for `counselsynth generate`,
  derived from the manifest and checked to load as a RunConfig. Endpoints and API-key variables
  are not recorded by a run, so they are not in it either.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

import yaml

from counselsynth.models import RunManifest
from counselsynth.redaction import redact
from counselsynth.runconfig import RunConfig

RUN_DIR = "run"
MANIFEST_COPY = f"{RUN_DIR}/manifest.json"
RUN_CONFIG = f"{RUN_DIR}/run_config.yaml"


def mask_secrets(text: str, extra: Iterable[str] = ()) -> str:
    return redact(text, extra)


def local_folder(manifest: RunManifest) -> str | None:
    """The folder that holds all the run's absolute input paths, to be dropped from them: persona
    files keep their names and a source run its own folder name (the sha256 beside each
    identifies it), and nothing of the author's machine (`/home/alice/...`) is left."""
    paths = [PurePath(p) for p in manifest.inputs]
    if manifest.source_run is not None and "path" in manifest.source_run:
        paths.append(PurePath(manifest.source_run["path"]))
    folders = [p.parent for p in paths if p.is_absolute()]
    if not folders:
        return None
    common = PurePath(os.path.commonpath(folders))
    return None if common.parent == common else str(common)


def published(manifest: RunManifest) -> RunManifest:
    """The manifest as it may leave the machine: without the local folders in any of its fields
    (inputs, settings, source run, the messages about skipped records)."""
    folder = local_folder(manifest)
    if folder is None:
        return manifest
    # Replaced in the JSON text, so the folder goes wherever it was written, messages included.
    prefix = json.dumps(os.path.join(folder, ""))[1:-1]
    return RunManifest.model_validate_json(manifest.model_dump_json().replace(prefix, ""))


def manifest_copy(manifest: RunManifest, extra_secrets: Iterable[str] = ()) -> str:
    return mask_secrets(published(manifest).model_dump_json(indent=2), extra_secrets) + "\n"


def run_config(manifest: RunManifest) -> dict[str, Any]:
    settings = manifest.settings
    config: dict[str, Any] = {
        "framework": settings.get("framework"),
        "each_framework": settings.get("each_framework"),
        "sessions": settings.get("sessions"),
        "seed": manifest.seed,
        "limit": settings.get("limit"),
        "max_revisions": settings.get("max_revisions"),
        "language": settings.get("language") if manifest.source_run is None else None,
    }
    if not manifest.offline or manifest.source_run is not None:
        # One default model and an override for every agent that used another one.
        default = manifest.models.get("counselor") or next(iter(manifest.models.values()), None)
        config["model"] = default
        for agent, model in manifest.models.items():
            if model != default:
                config[f"{agent}_model"] = model
    config = {key: value for key, value in config.items() if value is not None}
    return RunConfig.model_validate(config).model_dump(mode="json", exclude_none=True)


def run_config_yaml(manifest: RunManifest, extra_secrets: Iterable[str] = ()) -> str:
    manifest = published(manifest)
    inputs = "\n".join(f"#   {path}  sha256 {sha}" for path, sha in manifest.inputs.items())
    source = manifest.source_run
    if source is None:
        header = (
            f"# Settings of counselsynth run {manifest.run_id}, derived from its manifest.\n"
            "# Regenerate with: counselsynth generate PERSONAS --config run_config.yaml --out DIR\n"
            f"# using the persona files the run read:\n{inputs}\n"
        )
    else:
        header = (
            f"# Settings of counselsynth run {manifest.run_id}, a translation, derived from its manifest.\n"
            f"# Rebuild with: counselsynth augment SOURCE_RUN --to {manifest.settings.get('target')} "
            "--config run_config.yaml --out DIR\n"
            f"# from the source run {source.get('run_id')}, whose dialogues.jsonl has sha256 "
            f"{source.get('dialogues_sha256')}\n"
        )
        if manifest.settings.get("culture"):
            header += f"# and --culture {json.dumps(manifest.settings['culture'], ensure_ascii=False)}\n"
    if not manifest.offline:
        header += "# Add api_base / api_key_env for your provider: runs do not record them.\n"
    body = yaml.safe_dump(run_config(manifest), sort_keys=False, allow_unicode=True)
    return mask_secrets(header + body, extra_secrets)
