"""`counselsynth publish`: dry runs without network, and the real huggingface_hub upload path
against the loopback hub (a strict fake of the hub's HTTP endpoints, selected with HF_ENDPOINT).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import huggingface_hub.constants
import pytest
from conftest import generate, run_cli

from counselsynth.testing.hub import HubRepo, LoopbackHub

PERSONAS = Path(__file__).parent / "fixtures" / "export" / "personas.yaml"
TOKEN = "hf_loopbackTOKEN0123456789abcdef"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("publish") / "run"
    generate(PERSONAS, out, sessions=2)
    return out


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let huggingface_hub talk HTTP; the conftest socket guard still allows loopback only."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setenv("HF_TOKEN", TOKEN)


@pytest.fixture
def hub(online: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackHub]:
    with LoopbackHub(TOKEN) as running:
        monkeypatch.setenv("HF_ENDPOINT", running.base_url)
        yield running


def bundle_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


UPLOAD_CALLS = [
    "POST /api/repos/create",
    "GET /api/datasets/me/counsel",
    "GET /api/datasets/me/counsel/tree/main",
    "POST /api/validate-yaml",
    "POST /api/datasets/me/counsel/preupload/main",
    "POST /api/datasets/me/counsel/commit/main",
]


def test_dry_run_builds_everything_without_token_or_network(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    keep = tmp_path / "bundle"
    code, stdout, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel", "--dry-run", "--out", str(keep))
    assert code == 0, stderr
    assert "dry run, nothing was uploaded" in stdout
    assert "create the private dataset repository me/counsel on https://huggingface.co" in stdout
    for name in bundle_files(keep):
        assert f"  {name}  " in stdout
    assert "token: not set; an upload needs HF_TOKEN or HUGGING_FACE_HUB_TOKEN" in stdout
    assert 'load_dataset("me/counsel")' in (keep / "README.md").read_text()


def test_publish_creates_a_private_repo_and_pushes_the_bundle(run_dir: Path, tmp_path: Path, hub: LoopbackHub) -> None:
    keep = tmp_path / "bundle"
    code, stdout, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel", "--out", str(keep))
    assert code == 0, stderr
    assert hub.log.unexpected == [] and hub.log.unauthorized == []
    assert hub.log.requests == UPLOAD_CALLS
    repo = hub.repos["me/counsel"]
    assert repo.private is True
    assert repo.files == bundle_files(keep)
    assert {"README.md", "export.json", "run/manifest.json", "run/run_config.yaml"} <= set(repo.files)
    assert (
        json.loads(repo.files["run/manifest.json"])["run_id"]
        == json.loads((run_dir / "manifest.json").read_text())["run_id"]
    )
    assert len(repo.commits) == 1
    assert repo.commits[0]["header"]["summary"].startswith("counselsynth: export of run ")
    assert f"to the private dataset repository me/counsel: {hub.base_url}/datasets/me/counsel/commit/" in stdout


def test_publish_through_git_lfs_uploads_the_parquet_shards(
    run_dir: Path, tmp_path: Path, online: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With hf_xet installed, huggingface_hub sends LFS files through the Xet storage protocol,
    # which no loopback server can play; without it, through the classic LFS batch API.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)
    with LoopbackHub(TOKEN, lfs_suffixes=(".parquet",)) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        keep = tmp_path / "bundle"
        code, _, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel", "--out", str(keep))
        assert code == 0, stderr
        assert hub.log.unexpected == [] and hub.log.unauthorized == []
        shards = sorted(name for name in bundle_files(keep) if name.endswith(".parquet"))
        assert len(shards) == 3
        assert sum(call.startswith("PUT /lfs-upload/") for call in hub.log.requests) == 3
        assert "POST /datasets/me/counsel.git/info/lfs/objects/batch" in hub.log.requests
        assert hub.repos["me/counsel"].files == bundle_files(keep)
        operations = {op["value"]["path"]: op["key"] for op in hub.repos["me/counsel"].commits[0]["operations"]}
        assert {operations[shard] for shard in shards} == {"lfsFile"}


def test_republishing_replaces_the_data_folder_and_skips_unchanged_files(
    run_dir: Path, tmp_path: Path, hub: LoopbackHub
) -> None:
    code, _, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel")
    assert code == 0, stderr
    keep = tmp_path / "bundle"
    code, _, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel", "--split", "train=1", "--out", str(keep))
    assert code == 0, stderr
    repo = hub.repos["me/counsel"]
    assert repo.files == bundle_files(keep)
    assert sorted(p for p in repo.files if p.startswith("data/")) == ["data/train-00000-of-00001.parquet"]
    second = {op["value"]["path"]: op["key"] for op in repo.commits[1]["operations"]}
    assert second["data/validation-00000-of-00001.parquet"] == "deletedFile"
    assert second["data/test-00000-of-00001.parquet"] == "deletedFile"
    assert "run/manifest.json" not in second, "an unchanged file was sent again"
    assert hub.log.unexpected == []


def test_an_existing_public_repo_is_not_pushed_to_without_public(
    run_dir: Path, tmp_path: Path, hub: LoopbackHub
) -> None:
    hub.repos["me/counsel"] = HubRepo(private=False, files={"README.md": b"theirs"})
    code, stdout, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel")
    assert code == 1
    assert stderr.strip() == (
        "error: the dataset repository me/counsel already exists and is public; nothing was pushed. "
        "Pass --public to push to it, or make it private on the hub first"
    )
    assert hub.repos["me/counsel"].files == {"README.md": b"theirs"}
    assert not any("/commit/" in call or "/preupload/" in call for call in hub.log.requests)
    code, _, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel", "--public")
    assert code == 0, stderr
    assert "README.md" in hub.repos["me/counsel"].files and hub.repos["me/counsel"].private is False


def test_public_creates_a_public_repo(run_dir: Path, hub: LoopbackHub) -> None:
    code, stdout, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel", "--public")
    assert code == 0, stderr
    assert hub.repos["me/counsel"].private is False
    assert "to the public dataset repository me/counsel" in stdout


def test_a_missing_token_fails_before_anything_is_built(run_dir: Path, tmp_path: Path, hub: LoopbackHub) -> None:
    for blank in (None, "", "   "):
        with pytest.MonkeyPatch.context() as patch:
            for variable in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
                patch.delenv(variable, raising=False)
                if blank is not None:
                    patch.setenv(variable, blank)
            code, _, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel", "--out", str(tmp_path / "b"))
        assert code == 2
        assert stderr.startswith("error: no Hugging Face token: set HF_TOKEN")
        assert len(stderr.strip().splitlines()) == 1
    assert hub.log.requests == []
    assert not (tmp_path / "b").exists()


def test_the_other_token_variable_works_too(run_dir: Path, hub: LoopbackHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", TOKEN)
    code, _, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel")
    assert code == 0, stderr
    assert hub.log.unauthorized == []


@pytest.mark.parametrize(
    "repo", ["counsel", "me/counsel/extra", "me/bad--name", "me/bad..name", "me/.hidden", "me/counsel.git", "/counsel"]
)
def test_malformed_repo_ids_are_refused(run_dir: Path, hub: LoopbackHub, repo: str) -> None:
    code, _, stderr = run_cli("publish", str(run_dir), "--repo", repo)
    assert code == 2
    assert stderr.strip().startswith(f"error: --repo '{repo}' is not a hub repository id: use user/name")
    assert hub.log.requests == []


def test_an_unfinished_run_is_not_pushed(run_dir: Path, tmp_path: Path, hub: LoopbackHub) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["status"] = "interrupted"
    (run / "manifest.json").write_text(json.dumps(manifest))
    code, _, stderr = run_cli("publish", str(run), "--repo", "me/counsel")
    assert code == 2
    assert "was interrupted before it finished" in stderr and "--resume" in stderr
    assert hub.log.requests == []


def test_offline_mode_is_reported_instead_of_a_hub_error(
    run_dir: Path, hub: LoopbackHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    code, _, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel")
    assert code == 2
    assert stderr.strip() == "error: HF_HUB_OFFLINE is set, so the hub cannot be reached; unset it, or use --dry-run"
    assert hub.log.requests == []


def test_the_token_never_appears_in_output_files_or_errors(
    run_dir: Path, tmp_path: Path, online: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    # A hub that expects another token answers 401; the error must not echo ours.
    with LoopbackHub("hf_someoneElsesToken000000") as other:
        monkeypatch.setenv("HF_ENDPOINT", other.base_url)
        code, stdout, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel", "--out", str(tmp_path / "a"))
        assert code == 1
        assert stderr.startswith(f"error: publishing to {other.base_url} failed: ")
        assert len(stderr.strip().splitlines()) == 1
        seen += [stdout, stderr]
    with LoopbackHub(TOKEN) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        code, stdout, stderr = run_cli("publish", str(run_dir), "--repo", "me/counsel", "--out", str(tmp_path / "b"))
        assert code == 0, stderr
        seen += [stdout, stderr]
        code, stdout, stderr = run_cli(
            "publish", str(run_dir), "--repo", "me/counsel", "--dry-run", "--out", str(tmp_path / "c")
        )
        assert code == 0, stderr
        assert "token: HF_TOKEN is set" in stdout
        seen += [stdout, stderr]
        pushed = hub.repos["me/counsel"].files
    assert all(TOKEN not in text for text in seen)
    for content in pushed.values():
        assert TOKEN.encode() not in content
    for folder in ("a", "b", "c"):
        for path in (tmp_path / folder).rglob("*"):
            if path.is_file():
                assert TOKEN.encode() not in path.read_bytes(), path
