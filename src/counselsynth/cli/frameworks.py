"""`counselsynth frameworks ...`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from counselsynth.cli.app import FrameworkDirs, frameworks_app, out, reports_errors


@frameworks_app.command("list")
@reports_errors
def frameworks_list(frameworks_dir: FrameworkDirs = None) -> None:
    """List the available frameworks with their phases, codes and rubric."""
    from counselsynth.frameworks import load_catalog

    catalog = load_catalog(frameworks_dir or [])
    table = Table("id", "name", "phases", "codes", "client codes", "rubric")
    for framework in catalog.frameworks.values():
        table.add_row(
            framework.id,
            framework.name,
            " → ".join(p.id for p in framework.phases),
            str(len(framework.codes)),
            ", ".join(c.id for c in framework.client_codes),
            framework.rubric.name,
        )
    out.print(table)
    out.print("Show one framework's codes with: counselsynth frameworks show ID", highlight=False)


@frameworks_app.command("show")
@reports_errors
def frameworks_show(
    framework_id: Annotated[str, typer.Argument(help="Framework id, e.g. mi.")],
    frameworks_dir: FrameworkDirs = None,
) -> None:
    """Show a framework's phases, strategy codes (with what they map to) and rubric."""
    from counselsynth.frameworks import load_catalog

    framework = load_catalog(frameworks_dir or []).get(framework_id)
    out.print(f"[bold]{framework.name}[/bold] ({framework.id}): {framework.description}")
    phases = Table("phase", "counselor turns", "goal", title="Phases")
    for phase in framework.phases:
        phases.add_row(phase.id, f"{phase.exchanges[0]}-{phase.exchanges[1]}", phase.goal)
    out.print(phases)
    codes = Table("code", "maps to", "definition", title="Counselor strategy codes")
    for code in framework.codes:
        maps = [
            f"MITI {code.miti}" if code.miti else "",
            code.technique or "",
            ", ".join(code.ctrs_items),
            code.core_condition or "",
            "safety protocol" if code.safety_step else "",
        ]
        codes.add_row(code.id, "; ".join(m for m in maps if m), code.definition)
    out.print(codes)
    rubric = Table(
        "item",
        "evidence codes",
        "description",
        title=f"Rubric: {framework.rubric.name} (scale {framework.rubric.scale[0]}-"
        f"{framework.rubric.scale[1]}, pass at {framework.rubric.pass_threshold})",
    )
    for item in framework.rubric.items:
        rubric.add_row(item.id, ", ".join(item.evidence_codes), item.description)
    out.print(rubric)
