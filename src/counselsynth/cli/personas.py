"""`counselsynth personas ...`: validate, sample, stats, import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from counselsynth.cli.app import FrameworkDirs, out, personas_app, reports_errors, say_error
from counselsynth.errors import InputError
from counselsynth.vocabulary import ADULT_AGE, PERSONA_SOURCE_FORMATS

Opt = typer.Option
Overwrite = Annotated[bool, Opt("--overwrite", help="Replace the output file if it exists.")]


def _note(message: str) -> None:
    say_error(message, "note")


@personas_app.command("validate")
@reports_errors
def personas_validate(
    path: Annotated[Path, typer.Argument(help="A persona file or folder.")],
    frameworks_dir: FrameworkDirs = None,
    strict: Annotated[bool, Opt("--strict", help="Fail on clinical-coherence notes too.")] = False,
) -> None:
    """Report every problem in a persona file, each with its file, record and field.

    Valid personas are also checked for clinical coherence against the sampler's distributions
    (elevated risk below PHQ-9 10, a severity band ruled out for the problem, a language that is
    not the locale's, duplicates) and for contact details (e-mail, phone, street address); those
    are printed as notes and fail only with --strict.
    """
    from counselsynth.frameworks import load_catalog
    from counselsynth.personas import coherence_notes, load_personas

    catalog = load_catalog(frameworks_dir or [])
    loaded = load_personas(path, catalog.frameworks, collect=True)
    for problem in loaded.problems:
        say_error(problem)
    notes = coherence_notes(loaded.personas, loaded.files)
    for note in notes:
        if strict:
            say_error(note)
        else:
            _note(str(note))
    if loaded.problems or (strict and notes):
        raise typer.Exit(2)
    tail = f"; {len(notes)} coherence note(s)" if notes else ""
    out.print(
        f"ok: {len(loaded.personas)} personas in {len(loaded.files)} file(s){tail}", highlight=False, soft_wrap=True
    )


@personas_app.command("sample")
@reports_errors
def personas_sample(
    count: Annotated[int, Opt("-n", "--count", help="How many personas (1 to 1,000,000).")],
    out_file: Annotated[Path, Opt("--out", help="Persona file to write: .jsonl, .yaml, .yml or .json.")],
    locale: Annotated[
        list[str] | None, Opt("--locale", help="Locale such as fa_IR, sw, am_ET (repeatable; equal shares).")
    ] = None,
    seed: Annotated[int, Opt(help="Seed; the same seed gives the same personas.")] = 0,
    mix: Annotated[
        Path | None, Opt("--mix", help="YAML file of problem proportions (and optionally locale proportions).")
    ] = None,
    native_text_only: Annotated[
        bool, Opt("--native-text-only", help="Refuse locales whose language has no text pools (no English text).")
    ] = False,
    min_age: Annotated[int, Opt("--min-age", min=0, help="Youngest client age; below 18 needs --include-minors.")] = (
        ADULT_AGE
    ),
    include_minors: Annotated[
        bool,
        Opt("--include-minors", help="Allow clients under 18 (adolescents, from age 14, for some problems)."),
    ] = False,
    overwrite: Overwrite = False,
) -> None:
    """Sample clinically coherent personas from the documented distributions, in any supported locale."""
    from faker import VERSION as FAKER_VERSION

    from counselsynth.personas.sampling import check_count, load_mix, sample_personas
    from counselsynth.personas.writer import check_output, write_personas

    check_count(count)
    if include_minors and min_age == ADULT_AGE:
        min_age = 0
    elif min_age < ADULT_AGE and not include_minors:
        raise InputError(f"--min-age {min_age} makes minors: add --include-minors to sample clients under 18")
    check_output(out_file, overwrite=overwrite)
    chosen_mix = load_mix(mix) if mix is not None else None
    result = sample_personas(
        count,
        seed=seed,
        locales=locale or (),
        mix=chosen_mix,
        native_text_only=native_text_only,
        min_age=min_age,
    )
    minors = sum(p.demographics.age < ADULT_AGE for p in result.personas)
    if minors:
        _note(f"{minors} of {len(result.personas)} personas are minors (under 18)")
    write_personas(out_file, result.personas, overwrite=overwrite)
    for line in result.notes():
        _note(line)
    out.print(
        f"wrote {len(result.personas)} personas to {out_file} (seed {seed}, faker {FAKER_VERSION})",
        highlight=False,
        soft_wrap=True,
    )


@personas_app.command("stats")
@reports_errors
def personas_stats(
    path: Annotated[Path, typer.Argument(help="A persona file or folder.")],
    as_json: Annotated[bool, Opt("--json", help="Print the figures as JSON.")] = False,
    frameworks_dir: FrameworkDirs = None,
) -> None:
    """Print the mix (problems, severities, stages, styles, locales, risk, ...) and its diversity."""
    from rich.table import Table

    from counselsynth.frameworks import load_catalog
    from counselsynth.personas import load_personas, persona_stats

    catalog = load_catalog(frameworks_dir or [])
    loaded = load_personas(path, catalog.frameworks)
    stats = persona_stats(loaded.personas)
    if as_json:
        out.print_json(json.dumps(stats.to_dict(), ensure_ascii=False))
        return
    out.print(f"{stats.count} personas in {len(loaded.files)} file(s)", highlight=False)
    for name in stats.mix:
        counts = stats.ordered(name)
        total = sum(counts.values())
        table = Table(title=name, title_justify="left")
        table.add_column("value")
        table.add_column("count", justify="right")
        table.add_column("share", justify="right")
        for value, n in counts.items():
            table.add_row(value, str(n), f"{n / total:.1%}")
        out.print(table)
    diversity = Table(title="diversity", title_justify="left")
    diversity.add_column("measure")
    diversity.add_column("value", justify="right")
    for name, entropy in stats.entropy.items():
        diversity.add_row(f"normalised entropy: {name}", f"{entropy:.3f}")
    diversity.add_row("unique conceptualizations", f"{stats.unique_conceptualizations:.1%}")
    diversity.add_row("unique names", f"{stats.unique_names:.1%}")
    diversity.add_row("personas repeating another apart from the id", str(stats.repeated_personas))
    out.print(diversity)


@personas_app.command("import")
@reports_errors
def personas_import(
    path: Annotated[Path, typer.Argument(help="A Patient-Psi or Cactus file (JSON, JSONL or YAML).")],
    source: Annotated[str, Opt("--from", help=f"The file's format: {' or '.join(PERSONA_SOURCE_FORMATS)}.")],
    out_file: Annotated[Path, Opt("--out", help="Persona file to write: .jsonl, .yaml, .yml or .json.")],
    problem: Annotated[
        str | None, Opt("--problem", help="Presenting problem for every record (default: from the record).")
    ] = None,
    seed: Annotated[int, Opt(help="Seed for the fields the format lacks.")] = 0,
    overwrite: Overwrite = False,
) -> None:
    """Convert Patient-Psi profiles or Cactus intake forms into personas."""
    from counselsynth.personas.importers import import_personas
    from counselsynth.personas.writer import check_output, write_personas

    check_output(out_file, overwrite=overwrite)
    result = import_personas(path, source, seed=seed, problem=problem)
    write_personas(out_file, result.personas, overwrite=overwrite)
    if result.filled:
        filled = ", ".join(f"{name} ({n})" for name, n in sorted(result.filled.items()))
        _note(f"not in the source, filled from counselsynth's distributions: {filled}")
    problems = ", ".join(f"{name} {n}" for name, n in result.problems.most_common())
    out.print(
        f"wrote {len(result.personas)} personas to {out_file} (problems: {problems})", highlight=False, soft_wrap=True
    )
