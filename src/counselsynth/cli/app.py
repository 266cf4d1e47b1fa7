"""The Typer app, its sub-apps, consoles, and the one place errors become exit codes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import wraps
from importlib import metadata
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from counselsynth.cli.boundary import classify, printable, sigterm_as_interrupt
from counselsynth.errors import CounselsynthError


def command_group(help: str) -> typer.Typer:
    """A sub-command group. Help is click's plain layout: Rich's panels cut option names at 80
    columns and read "[default: 2]" in help texts as markup, so defaults vanished."""
    return typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None, help=help)


app = command_group("Synthetic, annotated, multi-session counseling dialogues.")
personas_app = command_group("Check, sample, describe and import persona files.")
frameworks_app = command_group("Inspect therapy frameworks.")
app.add_typer(personas_app, name="personas")
app.add_typer(frameworks_app, name="frameworks")

out = Console()
err = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")

MaxFailures = Annotated[
    str | None,
    typer.Option(
        help="Stop early when more cases than this fail: a count (5) or a share (10%). [default: 10%, at least 3]"
    ),
]
OutageTimeout = Annotated[
    float | None,
    typer.Option(help="Seconds to wait out an endpoint that is down before stopping (resumable). [default: 600]"),
]

FrameworkDirs = Annotated[
    list[Path] | None,
    typer.Option("--frameworks-dir", help="Extra folder of framework YAML files (repeatable)."),
]


def say_error(message: object, prefix: str = "error") -> None:
    err.print(f"{prefix}: {printable(message)}", markup=False, highlight=False, soft_wrap=True)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn every error into one line on stderr and an exit code (see cli.boundary)."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with sigterm_as_interrupt():
                return command(*args, **kwargs)
        except CounselsynthError as exc:
            say_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted; finished cases are kept in the output folder", markup=False)
            raise typer.Exit(130) from None
        except (OSError, sqlite3.DatabaseError, RecursionError) as exc:
            message, code = classify(exc) or (type(exc).__name__, 1)
            say_error(message)
            raise typer.Exit(code) from None

    return wrapper


def _print_version(wanted: bool) -> None:
    if wanted:
        try:
            version = metadata.version("counselsynth")
        except metadata.PackageNotFoundError:
            version = "not installed"
        out.print(f"counselsynth {version}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit.")
    ] = False,
) -> None:
    """Synthetic, annotated, multi-session counseling dialogues."""


def main() -> None:
    app(prog_name="counselsynth")
