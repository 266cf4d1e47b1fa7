"""`counselsynth coder fit|list`: the independent coder of counselor behaviour."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from counselsynth.cli.app import app, out, reports_errors

Opt = typer.Option
coder_app = typer.Typer(no_args_is_help=True, help="Coders that read a counselor turn's text and predict its code.")
app.add_typer(coder_app, name="coder")


def _say(line: str) -> None:
    out.print(line, markup=False, highlight=False, soft_wrap=True)


@coder_app.command("fit")
@reports_errors
def coder_fit(
    corpus_dir: Annotated[Path, typer.Argument(help="An annotated corpus folder (e.g. from import-corpus).")],
    out_file: Annotated[Path, Opt("--out", help="The coder file to write (.json).")],
    name: Annotated[str | None, Opt(help="The coder's name. [default: the corpus folder's name]")] = None,
    buckets: Annotated[int, Opt(help="Hash buckets per feature family (word and character n-grams).")] = 4096,
    folds: Annotated[int, Opt(help="Cross-validation folds, grouped by dialogue.")] = 5,
    seed: Annotated[int, Opt(help="Seed of the folds and the solver.")] = 0,
) -> None:
    """Fit a coder (hashed n-grams, logistic regression; weights only, no vocabulary) and report its
    grouped cross-validated agreement with the corpus's labels."""
    from counselsynth.coder import fit_coder
    from counselsynth.coder.features import FeatureSpec
    from counselsynth.coder.model import save_coder

    coder = fit_coder(
        corpus_dir, name=name or corpus_dir.name, features=FeatureSpec(buckets=buckets), folds=folds, seed=seed
    )
    save_coder(coder, out_file)
    check = coder.validation
    coarse = f", coarse classes {check.kappa_coarse:.3f}" if check.kappa_coarse is not None else ""
    _say(
        f"wrote {out_file}: scheme '{coder.scheme}', {check.turns} counselor turns in {check.dialogues} dialogues; "
        f"grouped {check.folds}-fold Cohen's kappa {check.kappa:.3f}{coarse}"
    )
    _say("per-class F1: " + ", ".join(f"{label} {value:.3f}" for label, value in check.f1.items()))


@coder_app.command("list")
@reports_errors
def coder_list() -> None:
    """List the coders that ship with counselsynth and their validated agreement."""
    from counselsynth.coder import load_coder, shipped_coders

    for name in shipped_coders():
        coder = load_coder(name)
        cited = f"; fitted on {coder.source.corpus}" if coder.source else ""
        _say(f"{name}: {len(coder.classes)} classes, grouped CV kappa {coder.validation.kappa:.3f}{cited}")
