"""`counselsynth import-corpus`, `reference build|list`, `fidelity` and `policy fit|form`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from counselsynth.cli.app import FrameworkDirs, app, command_group, err, out, reports_errors
from counselsynth.errors import UnknownNameError

Opt = typer.Option
reference_app = command_group("Reference profiles: statistics of real corpora.")
policy_app = command_group("Strategy policies fitted on annotated sessions.")
app.add_typer(reference_app, name="reference")
app.add_typer(policy_app, name="policy")

CorpusDir = Annotated[Path, typer.Argument(help="A corpus folder (dialogues.jsonl), generated or imported.")]
Language = Annotated[str | None, Opt(help="Use only the cases in this language (e.g. en).")]
Framework = Annotated[str | None, Opt(help="Use only the cases of this framework (e.g. mi).")]


def _say(line: str) -> None:
    out.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("import-corpus")
@reports_errors
def import_corpus_command(
    source: Annotated[str, Opt(help="annomi or esconv.")],
    path: Annotated[Path, Opt(help="AnnoMI-simple/-full CSV, ESConv.json (original layout) or ESConv JSONL.")],
    out_dir: Annotated[Path, Opt("--out", help="New folder for dialogues.jsonl and manifest.json.")],
    quality: Annotated[str | None, Opt(help="AnnoMI only: keep the high- or low-quality transcripts.")] = None,
    data_format: Annotated[
        str | None,
        Opt("--format", help="ESConv only: json, jsonl or yaml. [default: found from the content]"),
    ] = None,
    frameworks_dir: FrameworkDirs = None,
) -> None:
    """Convert a real corpus into the record format of `generate`, so every command can read it."""
    from counselsynth.datafiles import DATA_FORMATS
    from counselsynth.fidelity.annomi import QUALITIES
    from counselsynth.fidelity.corpora import SOURCE_NAMES, import_corpus

    if source not in SOURCE_NAMES:
        raise UnknownNameError("source", source, SOURCE_NAMES)
    if quality is not None and quality not in QUALITIES:
        raise UnknownNameError("quality", quality, QUALITIES)
    chosen_format = next((f for f in DATA_FORMATS if f == data_format), None)
    if data_format is not None and chosen_format is None:
        raise UnknownNameError("format", data_format, DATA_FORMATS)
    summary = import_corpus(
        source,
        path,
        out_dir,
        "high" if quality == "high" else "low" if quality else None,
        frameworks_dir or (),
        chosen_format,
    )
    for warning in summary.warnings:
        err.print(f"note: {warning}", markup=False, highlight=False, soft_wrap=True)
    _say(
        f"imported {summary.cases} {summary.source.name} dialogues ({summary.turns} turns, {summary.layout} layout) "
        f"as framework '{summary.source.framework}' into {out_dir}"
    )


@reference_app.command("build")
@reports_errors
def reference_build(
    corpus_dir: CorpusDir,
    out_file: Annotated[Path, Opt("--out", help="The profile file to write (.json).")],
    name: Annotated[str | None, Opt(help="The profile's name. [default: the corpus folder's name]")] = None,
    description: Annotated[str, Opt(help="What the profile describes.")] = "",
    language: Language = None,
    framework: Framework = None,
) -> None:
    """Compute a reference profile (derived statistics only, never text) from a corpus."""
    from counselsynth.fidelity.profile import build_profile, save_profile

    profile = build_profile(
        corpus_dir, name=name or corpus_dir.name, description=description, language=language, framework=framework
    )
    save_profile(profile, out_file)
    cited = f"; cites {profile.reference.corpus}" if profile.reference else ""
    _say(f"wrote {out_file}: {profile.cases} cases, {profile.session_count} sessions{cited}")


@reference_app.command("list")
@reports_errors
def reference_list() -> None:
    """List the reference profiles that ship with counselsynth."""
    from counselsynth.fidelity.profile import load_profile, shipped_profiles

    for name in shipped_profiles():
        profile = load_profile(name)
        corpus = profile.reference.corpus if profile.reference else "no citation"
        _say(f"{name}: {corpus}, {profile.cases} cases, {profile.session_count} sessions. {profile.description}")


@app.command("fidelity")
@reports_errors
def fidelity_command(
    corpus_dir: CorpusDir,
    reference: Annotated[
        str, Opt(help="A shipped profile (annomi-high, annomi-low, esconv), a profile .json, or a corpus folder.")
    ],
    out_dir: Annotated[Path, Opt("--out", help="Report folder; RUN_DIR/fidelity is where export looks.")],
    against: Annotated[
        Path | None, Opt(help="A real corpus folder (import-corpus) for the classifier two-sample test.")
    ] = None,
    language: Language = None,
    framework: Framework = None,
    reference_language: Annotated[
        str | None,
        Opt(
            help="Use only the reference corpus folder's cases in this language, or 'all' to take a folder "
            "that mixes languages (metrics that count words are then n/a)."
        ),
    ] = None,
    strict: Annotated[bool, Opt(help="Exit with code 1 when the overall verdict is fail.")] = False,
) -> None:
    """Compare a corpus with real-data statistics, axis by axis; write fidelity.json, .md and plots."""
    from counselsynth.fidelity.check import run_check
    from counselsynth.fidelity.report import write_report

    report = run_check(
        corpus_dir,
        reference,
        against=against,
        language=language,
        framework=framework,
        reference_language=reference_language,
    )
    for warning in report.warnings():
        err.print(f"warning: {warning}", markup=False, highlight=False, soft_wrap=True)
    written = write_report(report, out_dir)
    for line in report.summary():
        _say(line)
    _say(f"wrote {written[0]} and {written[1]} (+ {len(written) - 2} figures)")
    if strict and report.overall == "fail":
        raise typer.Exit(1)


@policy_app.command("fit")
@reports_errors
def policy_fit(
    corpus_dir: CorpusDir,
    out_file: Annotated[Path, Opt("--out", help="The policy file to write (.json).")],
    framework: Framework = None,
    frameworks_dir: FrameworkDirs = None,
) -> None:
    """Fit the counselor's strategy policy (start mixes and transitions by phase) on annotated sessions."""
    from counselsynth.fidelity.corpora import fidelity_catalog
    from counselsynth.fidelity.policy_fit import fit_policy, save_policy

    catalog = fidelity_catalog(frameworks_dir or ())
    fitted = fit_policy(corpus_dir, catalog, framework)
    save_policy(fitted, catalog.get(fitted.policy.framework), out_file)
    for note in fitted.notes:
        err.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
    thirds = ", ".join(f"{phase} <- {part} third" for phase, part in fitted.phase_thirds.items())
    _say(
        f"wrote {out_file}: '{fitted.policy.framework}' policy from {fitted.sessions} sessions and "
        f"{fitted.counselor_turns} counselor turns, fitted on {fitted.classes}; {thirds}"
    )


@policy_app.command("form")
@reports_errors
def policy_form(
    corpus_dir: CorpusDir,
    out_file: Annotated[Path, Opt("--out", help="The form file to write (.json).")],
    framework: Annotated[
        str | None, Opt(help="The framework the form is for (default: the corpus's own).", show_default=False)
    ] = None,
    frameworks_dir: FrameworkDirs = None,
) -> None:
    """Fit the turn-form model (turn lengths, continuations, session lengths) on real sessions."""
    from counselsynth.fidelity.corpora import fidelity_catalog, iter_corpus
    from counselsynth.fidelity.form_fit import fit_form, save_form

    catalog = fidelity_catalog(frameworks_dir or ())
    cases = list(iter_corpus(corpus_dir))
    target = framework or (cases[0].framework if cases else "")
    form = fit_form(cases, catalog.get(target), corpus_dir.name)
    save_form(form, out_file)
    classes = ", ".join(sorted(set(form.code_class.values()))) or "none (every code takes 'any')"
    _say(f"wrote {out_file}: '{form.framework}' form; counselor classes {classes}; {form.source}")
