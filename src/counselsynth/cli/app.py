"""The Typer app, its sub-apps, consoles, and the one place errors become exit codes."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

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


def say_error(message: object) -> None:
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn the project's errors into one line on stderr and the error's exit code."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CounselsynthError as exc:
            say_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted; finished cases are kept in the output folder", markup=False)
            raise typer.Exit(130) from None

    return wrapper


def main() -> None:
    app(prog_name="counselsynth")
