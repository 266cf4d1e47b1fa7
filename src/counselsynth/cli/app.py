"""The Typer app, its sub-apps, consoles, and the one place errors become exit codes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from counselsynth.cli.boundary import classify, printable, sigterm_as_interrupt
from counselsynth.errors import CounselsynthError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Synthetic, annotated, multi-session counseling dialogues.",
)
personas_app = typer.Typer(no_args_is_help=True, help="Check, sample, describe and import persona files.")
frameworks_app = typer.Typer(no_args_is_help=True, help="Inspect therapy frameworks.")
app.add_typer(personas_app, name="personas")
app.add_typer(frameworks_app, name="frameworks")

out = Console()
err = Console(stderr=True)
P = ParamSpec("P")
R = TypeVar("R")

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


def main() -> None:
    app(prog_name="counselsynth")
