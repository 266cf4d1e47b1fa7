"""`counselsynth personas ...`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from counselsynth.cli.app import FrameworkDirs, out, personas_app, reports_errors, say_error
from counselsynth.frameworks import load_catalog
from counselsynth.personas import load_personas


@personas_app.command("validate")
@reports_errors
def personas_validate(
    path: Annotated[Path, typer.Argument(help="A persona file or folder.")],
    frameworks_dir: FrameworkDirs = None,
) -> None:
    """Report every problem in a persona file, each with its file, record and field."""
    catalog = load_catalog(frameworks_dir or [])
    loaded = load_personas(path, catalog.frameworks, collect=True)
    for problem in loaded.problems:
        say_error(problem)
    if loaded.problems:
        raise typer.Exit(2)
    out.print(f"ok: {len(loaded.personas)} personas in {len(loaded.files)} file(s)", highlight=False)
