"""Publish a run to the Hugging Face hub: build the export bundle, then create the dataset
repository and push the bundle in one upload.

- The token comes from the environment only (HF_TOKEN, then HUGGING_FACE_HUB_TOKEN), so it is
  never on a command line, in shell history or in a file that counselsynth writes. Every message
  that could echo it is masked.
- Repositories are private unless `public` is asked for. An existing public repository is never
  pushed to without `public`, because that would publish data its owner expects to stay private.
- The push replaces the bundle's folders (`data/`, `run/`) on the hub, so shards of an earlier,
  larger export cannot linger next to the new ones and leak into `load_dataset`.
- A dry run builds and checks everything, needs no token and no network, and reports what the
  upload would send.

HF_ENDPOINT is read when publishing (not when huggingface_hub is imported), so a private hub
mirror or the loopback test hub can be chosen per call.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from counselsynth.errors import InputError, PublishError
from counselsynth.export.bundle import ExportOptions, ExportResult, export_run
from counselsynth.export.provenance import mask_secrets

TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
# user/name: the hub's repo-name rules (letters, digits, -, _, .; no leading punctuation,
# no "--" or "..", no ".git" suffix, at most 96 characters per part).
REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?"
REPO_ID = re.compile(rf"{REPO_PART}/{REPO_PART}")
REPLACED_FOLDERS = ["data/*", "run/*"]


def check_repo_id(repo_id: str) -> str:
    # fullmatch: with match and `$`, a trailing newline would pass.
    if not REPO_ID.fullmatch(repo_id) or "--" in repo_id or ".." in repo_id or repo_id.endswith(".git"):
        raise InputError(
            f"--repo '{repo_id}' is not a hub repository id: use user/name or org/name (letters, digits, "
            "'-', '_' and '.', no '--' or '..', at most 96 characters each)"
        )
    return repo_id


def find_token(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(variable, token) from the environment, or None."""
    env = os.environ if environ is None else environ
    for variable in TOKEN_VARIABLES:
        value = env.get(variable, "").strip()
        if value:
            return variable, value
    return None


@dataclass(frozen=True)
class PublishPlan:
    repo_id: str
    private: bool
    endpoint: str
    commit_message: str
    files: list[tuple[str, int]]
    token_variable: str | None

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)


@dataclass(frozen=True)
class PublishResult:
    plan: PublishPlan
    export: ExportResult
    dry_run: bool
    commit_url: str | None = None
    notes: tuple[str, ...] = ()


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


@contextmanager
def _bundle_folder(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="counselsynth-publish-") as scratch:
        yield Path(scratch) / "bundle"


def publish_run(
    run_dir: Path,
    repo_id: str,
    options: ExportOptions,
    *,
    public: bool = False,
    dry_run: bool = False,
    keep: Path | None = None,
) -> PublishResult:
    """Build the bundle (into `keep`, or a temporary folder) and push it unless `dry_run`."""
    repo_id = check_repo_id(repo_id)
    found = find_token()
    if found is None and not dry_run:
        raise InputError(
            "no Hugging Face token: set HF_TOKEN (a write token from https://huggingface.co/settings/tokens) "
            "in the environment, or use --dry-run to build and check without uploading"
        )
    if not dry_run:
        from huggingface_hub import constants

        if constants.is_offline_mode():
            raise InputError("HF_HUB_OFFLINE is set, so the hub cannot be reached; unset it, or use --dry-run")
    token = found[1] if found else None
    options = replace(options, repo_id=repo_id, secrets=(*options.secrets, *([token] if token else [])))
    with _bundle_folder(keep) as folder:
        export = export_run(run_dir, folder, options)
        plan = PublishPlan(
            repo_id=repo_id,
            private=not public,
            endpoint=hub_endpoint(),
            commit_message=(
                f"counselsynth: export of run {export.run_id} "
                f"({sum(s.rows for s in export.splits)} sessions, format {options.fmt})"
            ),
            files=[(name, export.size(name)) for name in export.files],
            token_variable=found[0] if found else None,
        )
        if dry_run:
            return PublishResult(plan, export, dry_run=True)
        assert token is not None
        commit_url, notes = _upload(folder, plan, token)
        return PublishResult(plan, export, dry_run=False, commit_url=commit_url, notes=notes)


def _upload(folder: Path, plan: PublishPlan, token: str) -> tuple[str, tuple[str, ...]]:
    # Imported here: the hub client is only needed for a real upload.
    import httpx
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    api = HfApi(endpoint=plan.endpoint, token=token)
    notes: list[str] = []
    try:
        api.create_repo(plan.repo_id, repo_type="dataset", private=plan.private, exist_ok=True)
        info = api.dataset_info(plan.repo_id)
        if plan.private and info.private is not True:
            raise PublishError(
                f"the dataset repository {plan.repo_id} already exists and is public; nothing was pushed. "
                "Pass --public to push to it, or make it private on the hub first"
            )
        if not plan.private and info.private:
            notes.append(f"{plan.repo_id} already existed as a private repository and stays private")
        commit = api.upload_folder(
            repo_id=plan.repo_id,
            repo_type="dataset",
            folder_path=folder,
            commit_message=plan.commit_message,
            commit_description="Pushed by `counselsynth publish`; see export.json and run/manifest.json.",
            delete_patterns=REPLACED_FOLDERS,
        )
    except PublishError:
        raise
    except (HfHubHTTPError, OfflineModeIsEnabled, httpx.HTTPError, OSError, ValueError, RuntimeError) as exc:
        # RuntimeError: huggingface_hub wraps a failed LFS transfer in one.
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise PublishError(f"publishing to {plan.endpoint} failed: {mask_secrets(first_line, [token])}") from None
    return str(commit.commit_url), tuple(notes)
