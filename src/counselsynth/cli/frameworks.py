"""`counselsynth frameworks ...`."""

from __future__ import annotations

from rich.table import Table

from counselsynth.cli.app import FrameworkDirs, frameworks_app, out, reports_errors
from counselsynth.frameworks import load_catalog


@frameworks_app.command("list")
@reports_errors
def frameworks_list(frameworks_dir: FrameworkDirs = None) -> None:
    """List the available frameworks with their phases and codes."""
    catalog = load_catalog(frameworks_dir or [])
    table = Table("id", "name", "phases", "counselor codes", "client codes", "rubric")
    for framework in catalog.frameworks.values():
        table.add_row(
            framework.id,
            framework.name,
            ", ".join(p.id for p in framework.phases),
            ", ".join(framework.code_ids),
            ", ".join(c.id for c in framework.client_codes),
            framework.rubric.name,
        )
    out.print(table)
