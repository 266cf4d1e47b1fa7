"""`counselsynth export` and `counselsynth publish`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from counselsynth.cli.app import FrameworkDirs, app, err, out, reports_errors
from counselsynth.errors import UnknownNameError
from counselsynth.export.choices import DEFAULT_LICENSE, FORMATS, ExportFormat
from counselsynth.export.splits import DEFAULT_SPLITS, parse_splits

if TYPE_CHECKING:
    from counselsynth.export import ExportOptions, ExportResult

Opt = typer.Option
RunDir = Annotated[Path, typer.Argument(help="A finished run folder (dialogues.jsonl + manifest.json).")]
Format = Annotated[str, Opt("--format", help=f"One of {', '.join(FORMATS)}.")]
Split = Annotated[str, Opt("--split", help="Split shares by persona, e.g. train=0.9,test=0.1.")]
Seed = Annotated[int, Opt(help="Seed of the persona shuffle behind the splits.")]
License = Annotated[
    str, Opt("--license", help="Hub license id for the card; the generated text's license is your choice.")
]
System = Annotated[bool, Opt("--system/--no-system", help="Start each conversation with a system message.")]
FirstRoleOpt = Annotated[
    str,
    Opt(
        "--first-role",
        help="user: after the system message, conversations start with the user and strictly alternate "
        "(a session the counselor opens gets a short opener); assistant: one message per turn.",
    ),
]


def _options(
    fmt: str,
    split: str,
    seed: int,
    license_id: str,
    system: bool,
    first_role: str,
    frameworks_dir: list[Path] | None,
) -> ExportOptions:
    # Imported here: the export machinery loads `datasets` and pyarrow, which `--help` never needs.
    from counselsynth.export import ExportOptions

    if fmt not in FORMATS:
        raise UnknownNameError("format", fmt, FORMATS)
    chosen: ExportFormat = fmt  # type: ignore[assignment]
    from counselsynth.export.rows import FIRST_ROLES

    role = next((r for r in FIRST_ROLES if r == first_role), None)
    if role is None:
        raise UnknownNameError("first role", first_role, FIRST_ROLES)
    return ExportOptions(
        first_role=role,
        fmt=chosen,
        splits=parse_splits(split),
        seed=seed,
        license=license_id,
        system_message=system,
        frameworks_dirs=tuple(frameworks_dir or ()),
    )


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _report(result: ExportResult) -> None:
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    census = result.census
    parts = ", ".join(f"{s.name} {s.rows} sessions / {s.personas} personas" for s in result.splits)
    out.print(
        f"{census.sessions} sessions from {census.cases} cases and {census.personas} personas, "
        f"split by persona: {parts}",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
@reports_errors
def export(
    run_dir: RunDir,
    out_dir: Annotated[Path, Opt("--out", help="New (or empty) folder for the dataset and its card.")],
    fmt: Format = "hf",
    split: Split = DEFAULT_SPLITS,
    seed: Seed = 0,
    license_id: License = DEFAULT_LICENSE,
    system: System = True,
    first_role: FirstRoleOpt = "user",
    frameworks_dir: FrameworkDirs = None,
) -> None:
    """Export a run as training-ready splits (hf parquet, sharegpt, openai or jsonl) with a dataset card."""
    from counselsynth.export import export_run

    result = export_run(run_dir, out_dir, _options(fmt, split, seed, license_id, system, first_role, frameworks_dir))
    _report(result)
    out.print(f"wrote {len(result.files)} files to {out_dir} (card: {out_dir / 'README.md'})", highlight=False)


@app.command()
@reports_errors
def publish(
    run_dir: RunDir,
    repo: Annotated[str, Opt("--repo", help="Hub dataset repository, user/name or org/name.")],
    public: Annotated[bool, Opt("--public", help="Make a new repository public (default: private).")] = False,
    dry_run: Annotated[bool, Opt("--dry-run", help="Build and check everything, upload nothing.")] = False,
    fmt: Format = "hf",
    split: Split = DEFAULT_SPLITS,
    seed: Seed = 0,
    license_id: License = DEFAULT_LICENSE,
    system: System = True,
    first_role: FirstRoleOpt = "user",
    keep: Annotated[Path | None, Opt("--out", help="Also keep the pushed bundle in this folder.")] = None,
    frameworks_dir: FrameworkDirs = None,
) -> None:
    """Export a run and push it to the Hugging Face hub (token from HF_TOKEN; private unless --public)."""
    from counselsynth.export.publish import TOKEN_VARIABLES, publish_run

    options = _options(fmt, split, seed, license_id, system, first_role, frameworks_dir)
    result = publish_run(run_dir, repo, options, public=public, dry_run=dry_run, keep=keep)
    _report(result.export)
    plan = result.plan
    visibility = "private" if plan.private else "public"
    listing = "\n".join(f"  {name}  {_size(size)}" for name, size in plan.files)
    if result.dry_run:
        token = (
            f"token: {plan.token_variable} is set"
            if plan.token_variable
            else f"token: not set; an upload needs {' or '.join(TOKEN_VARIABLES)}"
        )
        out.print(
            f"dry run, nothing was uploaded. An upload would create the {visibility} dataset repository "
            f"{plan.repo_id} on {plan.endpoint} (if it does not exist) and push {len(plan.files)} files "
            f"({_size(plan.total_bytes)}), replacing data/ and run/ there, with the message "
            f"'{plan.commit_message}':\n{listing}\n{token}",
            highlight=False,
            soft_wrap=True,
        )
        return
    for note in result.notes:
        err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    out.print(
        f"pushed {len(plan.files)} files ({_size(plan.total_bytes)}) to the {visibility} dataset repository "
        f"{plan.repo_id}: {result.commit_url}",
        highlight=False,
        soft_wrap=True,
    )
