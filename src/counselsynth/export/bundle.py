"""An export bundle: the folder `export` writes and `publish` pushes.

    OUT/README.md                      the dataset card (hub YAML metadata + body)
    OUT/data/<split>-*.parquet         (hf) or OUT/data/<split>.jsonl (jsonl, openai, sharegpt)
    OUT/export.json                    format, splits, seed, personas per split, file hashes
    OUT/run/manifest.json              the run's manifest
    OUT/run/run_config.yaml            the run's settings as a generate --config file

The run is read once: every record is validated, counted for the card and the splitter, and
turned into rows that wait in a spool (see `spool`) until the splits are known; then the rows are
routed to their splits. Memory stays flat however large the run. The bundle is built in a hidden
sibling folder and renamed into place only when everything has passed, so OUT is either complete
or absent, and a bad record leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from counselsynth.corpus import umask_mode
from counselsynth.errors import OutputExistsError
from counselsynth.export.card import CardInputs, SplitFigures, check_license, render_card
from counselsynth.export.census import Census
from counselsynth.export.choices import DEFAULT_LICENSE, ExportFormat
from counselsynth.export.fidelity_summary import read_fidelity
from counselsynth.export.formats import SplitWriter, features_of, open_writer
from counselsynth.export.provenance import MANIFEST_COPY, RUN_CONFIG, manifest_copy, mask_secrets, run_config_yaml
from counselsynth.export.rendering import template_hash
from counselsynth.export.rows import OPENER_TEMPLATE, ROW_FEATURES, SYSTEM_TEMPLATE, FirstRole, session_rows
from counselsynth.export.source import RunSource, open_run
from counselsynth.export.splits import DEFAULT_SPLITS, SplitSpec, assign_splits, parse_splits
from counselsynth.export.spool import RowSpool
from counselsynth.frameworks import load_catalog
from counselsynth.runlock import reading_lock

CARD = "README.md"
EXPORT_RECORD = "export.json"
SPOOL = ".rows.arrow"


@dataclass(frozen=True)
class ExportOptions:
    fmt: ExportFormat = "hf"
    splits: SplitSpec = field(default_factory=lambda: parse_splits(DEFAULT_SPLITS))
    seed: int = 0
    license: str = DEFAULT_LICENSE
    system_message: bool = True
    first_role: FirstRole = "user"
    frameworks_dirs: tuple[Path, ...] = ()
    # Named in the card's loading example when the bundle is meant for a hub repository.
    repo_id: str | None = None
    # Secrets to mask besides the environment's key-like variables (the hub token, say).
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    run_id: str
    files: list[str]
    splits: list[SplitFigures]
    census: Census
    warnings: list[str]

    def size(self, relative: str) -> int:
        return (self.out_dir / relative).stat().st_size


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _version() -> str:
    try:
        return metadata.version("counselsynth")
    except metadata.PackageNotFoundError:
        return "unknown"


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise OutputExistsError(f"{out_dir} already exists and is not empty; choose another --out folder")


def export_run(run_dir: Path, out_dir: Path, options: ExportOptions) -> ExportResult:
    """Validate the run, split it by persona and write the bundle to `out_dir` (new or empty),
    reading the run under its run lock, so a run still being written is never exported."""
    with reading_lock(run_dir):
        return _export(run_dir, out_dir, options)


def _export(run_dir: Path, out_dir: Path, options: ExportOptions) -> ExportResult:
    _check_out_dir(out_dir)
    check_license(options.license)
    source = open_run(run_dir)
    fidelity = read_fidelity(run_dir)
    catalog = load_catalog(options.frameworks_dirs)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    # mkdtemp makes the folder private (0700); the export should get the usual permissions.
    staging.chmod(umask_mode(directory=True))
    try:
        census = Census()
        spool = RowSpool(staging / SPOOL, ROW_FEATURES.arrow_schema)
        with spool:
            for case in source.cases():
                census.add(case)
                rows = session_rows(
                    case, catalog.frameworks, with_system=options.system_message, first_role=options.first_role
                )
                for row in rows:
                    spool.add(row)
        splits, members = _write_splits(spool, census, options, staging)
        secrets = options.secrets
        # Plain writes suffice inside the staging folder: the rename below publishes it whole.
        _write(staging / MANIFEST_COPY, manifest_copy(source.manifest, secrets))
        _write(staging / RUN_CONFIG, run_config_yaml(source.manifest, secrets))
        data_files = [f for s in splits for f in s.files]
        record = _export_record(source, options, splits, members, staging, data_files)
        _write(staging / EXPORT_RECORD, record)
        card = render_card(
            CardInputs(
                manifest=source.manifest,
                census=census,
                catalog=catalog,
                fmt=options.fmt,
                features=features_of(options.fmt),
                splits=splits,
                split_seed=options.seed,
                license=options.license,
                system_message=options.system_message,
                first_role=options.first_role,
                fidelity=fidelity,
                repo_id=options.repo_id,
                run_files=[MANIFEST_COPY, RUN_CONFIG],
            )
        )
        _write(staging / CARD, mask_secrets(card, secrets))
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    files = [CARD, *data_files, EXPORT_RECORD, MANIFEST_COPY, RUN_CONFIG]
    warnings = [
        f"framework '{fid}' is not among the loaded framework files; pass --frameworks-dir with its file "
        "so the card can define its codes and the system message can describe it"
        for fid in sorted(census.framework_sessions)
        if fid not in catalog.frameworks
    ]
    if census.looks_imported:
        warnings.append(
            "no session carries a critique, so this looks like an imported real corpus, not generated data; "
            "check the source's license and consent terms before you publish it"
        )
    return ExportResult(out_dir, source.manifest.run_id, files, splits, census, warnings)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def _write_splits(
    spool: RowSpool, census: Census, options: ExportOptions, staging: Path
) -> tuple[list[SplitFigures], dict[str, list[str]]]:
    """Assign personas to splits and write each split's files; returns the figures and members."""
    assignment = assign_splits(census.persona_sessions, options.splits, options.seed)
    members: dict[str, list[str]] = {name: [] for name in options.splits.names}
    for persona, split in sorted(assignment.items()):
        members[split].append(persona)
    rows = {name: sum(census.persona_sessions[p] for p in ids) for name, ids in members.items()}
    writers: dict[str, SplitWriter] = {
        name: open_writer(options.fmt, staging, name, rows[name]) for name in options.splits.names
    }
    try:
        _route(spool, members, writers)
    finally:
        for writer in writers.values():
            writer.close()
    spool.path.unlink()
    splits = [
        SplitFigures(
            name=name,
            share=share,
            rows=rows[name],
            cases=sum(census.persona_cases[p] for p in members[name]),
            personas=len(members[name]),
            files=writers[name].files,
            nbytes=writers[name].nbytes,
        )
        for name, share in options.splits.shares
    ]
    return splits, members


def _route(spool: RowSpool, members: dict[str, list[str]], writers: dict[str, SplitWriter]) -> None:
    """Send every spooled row to its persona's split, keeping the run's order within a split."""
    value_sets = {name: pa.array(ids, type=pa.string()) for name, ids in members.items()}
    for batch in spool.batches():
        personas = batch.column("persona_id")
        for name, value_set in value_sets.items():
            chosen = batch.filter(pc.is_in(personas, value_set=value_set))
            writers[name].write(pa.Table.from_batches([chosen]))


def _export_record(
    source: RunSource,
    options: ExportOptions,
    splits: list[SplitFigures],
    members: dict[str, list[str]],
    staging: Path,
    data_files: Iterable[str],
) -> str:
    record: dict[str, Any] = {
        "counselsynth": _version(),
        "format": options.fmt,
        "source": {"run_id": source.manifest.run_id, "dialogues_sha256": _sha256(source.dialogues)},
        "splits": {
            "asked": options.splits.describe(),
            "seed": options.seed,
            "by": "persona_id",
            "made": {s.name: {"rows": s.rows, "cases": s.cases, "personas": members[s.name]} for s in splits},
        },
        "system_message": {
            "included": options.system_message,
            "template": f"counselsynth/export/templates/{SYSTEM_TEMPLATE}",
            "template_hash": template_hash(SYSTEM_TEMPLATE),
        },
        "conversation": {
            "first_role": options.first_role,
            "opener_template": f"counselsynth/export/templates/{OPENER_TEMPLATE}",
            "opener_template_hash": template_hash(OPENER_TEMPLATE),
        },
        "license": options.license,
        "files": {name: _sha256(staging / name) for name in data_files},
    }
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
