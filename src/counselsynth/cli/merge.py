"""`counselsynth merge`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from counselsynth.cli.app import app, out, reports_errors


@app.command()
@reports_errors
def merge(
    shards: Annotated[list[Path], typer.Argument(help="The run folders of every shard (generate --shard i/n).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the merged run.")],
) -> None:
    """Join shard runs into one run; fails on a missing shard, a gap or a duplicate case."""
    from counselsynth.merge import merge_shards

    manifest = merge_shards(shards, out_dir)
    out.print(f"merged {len(shards)} shards: {manifest.counts['cases']} cases in {out_dir}", highlight=False)
