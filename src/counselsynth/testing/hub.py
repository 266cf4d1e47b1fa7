"""A loopback Hugging Face hub: the strict test double for `counselsynth publish`.

It serves, on 127.0.0.1, the hub endpoints that huggingface_hub's `create_repo`, `dataset_info`
and `upload_folder` call, and keeps the dataset repositories it is sent in memory:

    POST /api/repos/create                              create a repository (409 if it exists)
    GET  /api/datasets/{repo}[/revision/{rev}]          repository info (private, sha, files)
    POST /api/validate-yaml                             the card's YAML front matter must parse
    GET  /api/datasets/{repo}/tree/{rev}                the files, for delete_patterns
    POST /api/datasets/{repo}/preupload/{rev}           upload mode per file (regular or lfs)
    POST /{datasets/}{repo}.git/info/lfs/objects/batch  LFS upload actions (basic transfer)
    PUT  /lfs-upload/{oid}                              the LFS object itself
    POST /api/datasets/{repo}/commit/{rev}              apply an ndjson commit

Every API call must carry `Authorization: Bearer <token>` (401 otherwise). Anything else it is
sent is recorded as unexpected and answered 404, so a test can assert that publish made only
the calls it should. Point huggingface_hub at it with HF_ENDPOINT=<base_url>.

    python -m counselsynth.testing.hub --token hf_test   # prints the base URL, serves until killed
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

import yaml

from counselsynth.testing.loopback import BackgroundHTTPServer

REPO = r"(?P<repo>[^/]+/[^/]+)"
ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"^/api/repos/create$"), "create"),
    ("POST", re.compile(r"^/api/validate-yaml$"), "validate_yaml"),
    ("GET", re.compile(rf"^/api/datasets/{REPO}/tree/(?P<rev>[^/]+)$"), "tree"),
    ("POST", re.compile(rf"^/api/datasets/{REPO}/preupload/(?P<rev>[^/]+)$"), "preupload"),
    ("POST", re.compile(rf"^/api/datasets/{REPO}/commit/(?P<rev>[^/]+)$"), "commit"),
    ("POST", re.compile(rf"^/(?:datasets/)?{REPO}\.git/info/lfs/objects/batch$"), "lfs_batch"),
    ("PUT", re.compile(r"^/lfs-upload/(?P<oid>[0-9a-f]{64})$"), "lfs_put"),
    ("GET", re.compile(rf"^/api/datasets/{REPO}(?:/revision/(?P<rev>[^/]+))?$"), "info"),
)


def git_blob_oid(content: bytes) -> str:
    """The sha1 git gives a blob: what the hub reports as a regular file's oid."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class HubRepo:
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sha(self) -> str:
        return hashlib.sha1(f"{len(self.commits)}:{sorted(self.files)}".encode()).hexdigest()


@dataclass
class HubLog:
    requests: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    unauthorized: list[str] = field(default_factory=list)


class LoopbackHub(BackgroundHTTPServer):
    """`with LoopbackHub(token="hf_...") as hub:`; `hub.base_url` is the HF_ENDPOINT to use.

    `lfs_suffixes` lists file endings the hub asks to receive through LFS (the real hub sends
    binary and large files there); every other file is committed inline.
    """

    def __init__(self, token: str, *, lfs_suffixes: tuple[str, ...] = ()) -> None:
        self.token = token
        self.lfs_suffixes = lfs_suffixes
        self.repos: dict[str, HubRepo] = {}
        self.lfs_objects: dict[str, bytes] = {}
        self.log = HubLog()
        self.lock = threading.Lock()
        super().__init__(_handler_for(self))

    @property
    def base_url(self) -> str:
        return self.address

    # -- endpoints: each returns (status, JSON body) ---------------------------------------------

    def create(self, body: Any, **_: str) -> tuple[int, Any]:
        name, organization = body.get("name"), body.get("organization")
        if body.get("type") != "dataset" or not name or not organization:
            return 400, {"error": f"bad create request: {body}"}
        repo_id = f"{organization}/{name}"
        url = f"{self.base_url}/datasets/{repo_id}"
        if repo_id in self.repos:
            return 409, {"error": "You already created this dataset repo", "url": url}
        visibility = body.get("visibility", "public")
        self.repos[repo_id] = HubRepo(private=visibility == "private")
        return 200, {"url": url, "name": repo_id}

    def info(self, body: Any, repo: str, rev: str | None = None) -> tuple[int, Any]:
        found = self.repos.get(repo)
        if found is None:
            return 404, {"error": "Repository not found"}
        return 200, {
            "id": repo,
            "private": found.private,
            "sha": found.sha,
            "siblings": [{"rfilename": path} for path in sorted(found.files)],
        }

    def validate_yaml(self, body: Any, **_: str) -> tuple[int, Any]:
        content = str(body.get("content", ""))
        match = re.match(r"^---\n(.*?)\n---\n", content, re.DOTALL)
        if match is None:
            return 400, {"errors": [{"message": "no YAML front matter"}]}
        try:
            metadata = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            return 400, {"errors": [{"message": f"invalid YAML: {exc}"}]}
        if not isinstance(metadata, dict):
            return 400, {"errors": [{"message": "front matter is not a mapping"}]}
        return 200, {"errors": [], "warnings": []}

    def tree(self, body: Any, repo: str, rev: str) -> tuple[int, Any]:
        found = self.repos.get(repo)
        if found is None:
            return 404, {"error": "Repository not found"}
        folders = sorted({p.rsplit("/", 1)[0] for p in found.files if "/" in p})
        entries: list[dict[str, Any]] = [
            {"type": "directory", "path": folder, "oid": hashlib.sha1(folder.encode()).hexdigest(), "size": 0}
            for folder in folders
        ]
        entries += [
            {"type": "file", "path": path, "size": len(content), "oid": git_blob_oid(content)}
            for path, content in sorted(found.files.items())
        ]
        return 200, entries

    def preupload(self, body: Any, repo: str, rev: str) -> tuple[int, Any]:
        found = self.repos.get(repo)
        if found is None:
            return 404, {"error": "Repository not found"}
        files = []
        for item in body.get("files", []):
            path = item["path"]
            existing = found.files.get(path)
            lfs = path.endswith(self.lfs_suffixes) if self.lfs_suffixes else False
            files.append(
                {
                    "path": path,
                    "uploadMode": "lfs" if lfs else "regular",
                    "shouldIgnore": False,
                    "oid": None if existing is None or lfs else git_blob_oid(existing),
                }
            )
        return 200, {"files": files}

    def lfs_batch(self, body: Any, repo: str) -> tuple[int, Any]:
        if repo not in self.repos or body.get("operation") != "upload":
            return 404, {"message": "Repository not found"}
        objects = [
            {
                "oid": obj["oid"],
                "size": obj["size"],
                "authenticated": True,
                "actions": {"upload": {"href": f"{self.base_url}/lfs-upload/{obj['oid']}"}},
            }
            for obj in body.get("objects", [])
        ]
        return 200, {"transfer": "basic", "objects": objects}

    def lfs_put(self, content: bytes, oid: str) -> tuple[int, Any]:
        if hashlib.sha256(content).hexdigest() != oid:
            return 400, {"message": "content does not match its oid"}
        self.lfs_objects[oid] = content
        return 200, {}

    def commit(self, payload: bytes, repo: str, rev: str) -> tuple[int, Any]:
        found = self.repos.get(repo)
        if found is None:
            return 404, {"error": "Repository not found"}
        lines = [json.loads(line) for line in payload.decode("utf-8").splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            return 400, {"error": "a commit starts with its header"}
        files = dict(found.files)
        for item in lines[1:]:
            key, value = item["key"], item["value"]
            path = value["path"]
            if key == "file":
                files[path] = base64.b64decode(value["content"])
            elif key == "lfsFile":
                content = self.lfs_objects.get(value["oid"])
                if content is None or len(content) != value.get("size", len(content)):
                    return 422, {"error": f"LFS object of {path} was never uploaded"}
                files[path] = content
            elif key == "deletedFile":
                if path not in files:
                    return 404, {"error": f"A file with this name doesn't exist: {path}"}
                del files[path]
            elif key == "deletedFolder":
                files = {p: c for p, c in files.items() if not p.startswith(path.rstrip("/") + "/")}
            else:
                return 400, {"error": f"unknown commit operation {key}"}
        found.files = files
        found.commits.append({"header": lines[0]["value"], "operations": lines[1:]})
        return 200, {"commitUrl": f"{self.base_url}/datasets/{repo}/commit/{found.sha}", "commitOid": found.sha}


def _route(method: str, path: str) -> tuple[str, re.Match[str]] | None:
    for allowed, pattern, endpoint in ROUTES:
        match = pattern.match(path)
        if allowed == method and match:
            return endpoint, match
    return None


def _handler_for(hub: LoopbackHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == 404:
                self.send_header("X-Error-Code", "RepoNotFound")
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    chunk = self.rfile.read(size)
                    self.rfile.readline()
                    if size == 0:
                        return b"".join(chunks)
                    chunks.append(chunk)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _serve(self) -> None:
            raw = self._body()
            path = urlsplit(self.path).path
            call = f"{self.command} {path}"
            with hub.lock:
                hub.log.requests.append(call)
                routed = _route(self.command, path)
                if routed is None:
                    hub.log.unexpected.append(call)
                    self._answer(404, {"error": f"unexpected request {call}"})
                    return
                endpoint, match = routed
                # LFS uploads go to presigned storage URLs, which carry no hub credentials.
                if endpoint != "lfs_put" and self.headers.get("Authorization") != f"Bearer {hub.token}":
                    hub.log.unauthorized.append(call)
                    self._answer(401, {"error": "Invalid credentials in Authorization header"})
                    return
                params = {k: v for k, v in match.groupdict().items() if v is not None}
                if endpoint == "lfs_put":
                    status, body = hub.lfs_put(raw, **params)
                elif endpoint == "commit":
                    status, body = hub.commit(raw, **params)
                else:
                    status, body = getattr(hub, endpoint)(json.loads(raw) if raw else {}, **params)
            self._answer(status, body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", required=True, help="the token clients must send")
    args = parser.parse_args()
    with LoopbackHub(args.token) as hub:
        print(hub.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
