"""Join the runs of `generate --shard i/n` into one run, checking for gaps and duplicates."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from counselsynth.corpus import DIALOGUES, read_case_lines, read_manifest, write_atomic, write_manifest
from counselsynth.errors import InputError, OutputExistsError
from counselsynth.models import RunManifest
from counselsynth.runlock import reading_lock, run_lock
from counselsynth.runloop import Totals


def merge_shards(shard_dirs: Sequence[Path], out: Path) -> RunManifest:
    """Check the shards and write the merged run to `out`, holding `out` and reading every shard
    under its run lock, so no shard changes while it is read and no second merge shares `out`."""
    _refuse_existing(out)  # before any lock: `out` may be one of the shards themselves
    with run_lock(out), ExitStack() as shards:
        for folder in shard_dirs:
            shards.enter_context(reading_lock(folder))
        return _merge(shard_dirs, out)


def _refuse_existing(out: Path) -> None:
    if (out / DIALOGUES).exists():
        raise OutputExistsError(f"{out / DIALOGUES} already exists; choose another --out folder")


def _merge(shard_dirs: Sequence[Path], out: Path) -> RunManifest:
    _refuse_existing(out)
    manifests = [read_manifest(d) for d in shard_dirs]
    for folder, manifest in zip(shard_dirs, manifests, strict=True):
        if manifest.status != "complete":
            raise InputError(f"{folder} is {manifest.status}; finish it first by re-running its generate command")
        if not manifest.settings.get("shard"):
            raise InputError(f"{folder} is not a shard run (generated without --shard)")
    shared = {k: v for k, v in manifests[0].settings.items() if k not in ("shard", "concurrency", "workers")}
    for folder, manifest in zip(shard_dirs, manifests, strict=True):
        theirs = {k: v for k, v in manifest.settings.items() if k not in ("shard", "concurrency", "workers")}
        if theirs != shared:
            differs = sorted(k for k in shared if theirs.get(k) != shared[k])
            raise InputError(f"{folder} comes from a different run (it differs in: {', '.join(differs)})")
    count = manifests[0].settings["shard"][1]
    indices = sorted(m.settings["shard"][0] for m in manifests)
    if indices != list(range(count)):
        missing = sorted(set(range(count)) - set(indices))
        repeated = sorted({i for i in indices if indices.count(i) > 1})
        detail = f"missing shards {missing}" if missing else f"repeated shards {repeated}"
        raise InputError(f"expected shards 0..{count - 1} of {count}: {detail}")
    # Shard k planned personas k, k+n, k+2n, ...: that restores the unsharded order.
    rank: dict[str, int] = {}
    for manifest in manifests:
        index = manifest.settings["shard"][0]
        for position, case_id in enumerate(manifest.planned_cases):
            rank[case_id] = position * count + index
    lines: dict[str, str] = {}
    totals = Totals()
    for folder in shard_dirs:
        for line, case in read_case_lines(folder):
            if case.case_id in lines:
                raise InputError(f"case '{case.case_id}' appears in more than one shard ({folder})")
            if case.case_id not in rank:
                raise InputError(f"{folder} holds case '{case.case_id}' that no shard planned")
            lines[case.case_id] = line
            totals.add(case)
    gaps = sorted(set(rank) - set(lines))
    if gaps:
        raise InputError(f"{len(gaps)} planned cases are missing, e.g. '{gaps[0]}'")
    ordered = sorted(lines, key=rank.__getitem__)
    write_atomic(out / DIALOGUES, "".join(lines[case_id] for case_id in ordered))
    first = manifests[0]
    merged = first.model_copy(
        update={
            "run_id": f"merged-{time.strftime('%Y%m%d-%H%M%S')}",
            "status": "complete",
            "settings": {**first.settings, "shard": None, "merged_from": [str(d) for d in shard_dirs]},
            "planned_cases": ordered,
            "skipped": [s for m in manifests for s in m.skipped],
            **totals.manifest_fields(sum(m.timings.get("seconds", 0.0) for m in manifests), len(ordered), 0),
        }
    )
    write_manifest(out, merged)
    return merged
