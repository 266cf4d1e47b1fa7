"""Corpora on disk for the fidelity tools: importing real ones, and reading any one back.

`import_corpus` converts a real corpus (AnnoMI, ESConv) into a run folder in the record format of
`generate`: DIR/dialogues.jsonl (one Case per line) and DIR/manifest.json. Everything is parsed
and checked before anything is written, so a malformed file leaves no half-written folder.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Literal

from counselsynth.codestats import behaviour_counts, summary_scores
from counselsynth.corpus import DIALOGUES, MANIFEST, CaseWriter, read_cases, write_manifest
from counselsynth.datafiles import DataFormat
from counselsynth.errors import DataFileError, InputError, OutputExistsError
from counselsynth.fidelity.annomi import Quality, read_annomi
from counselsynth.fidelity.esconv import read_esconv
from counselsynth.fidelity.sources import Source, source
from counselsynth.fidelity.transcripts import HUMAN_ENGINE
from counselsynth.frameworks import FrameworkCatalog, load_catalog
from counselsynth.models import Case, RunManifest
from counselsynth.resources import data_dir

SUPPORT_FOLDER = "support"
SourceName = Literal["annomi", "esconv"]
SOURCE_NAMES: tuple[SourceName, ...] = ("annomi", "esconv")


def support_frameworks() -> Path:
    """Frameworks that ship without offline phrasebank lines (esc); see therapy_frameworks/support."""
    return data_dir("therapy_frameworks") / SUPPORT_FOLDER


def fidelity_catalog(extra_folders: Sequence[Path] = ()) -> FrameworkCatalog:
    """The shipped frameworks, the support frameworks that real corpora map onto, and any extras."""
    return load_catalog([support_frameworks(), *extra_folders])


@dataclass
class ImportSummary:
    source: Source
    layout: str
    out_dir: Path
    cases: int
    turns: int
    warnings: list[str] = field(default_factory=list)


def import_corpus(
    source_id: str,
    path: Path,
    out_dir: Path,
    quality: Quality | None = None,
    extra_frameworks: Sequence[Path] = (),
    data_format: DataFormat | None = None,
) -> ImportSummary:
    corpus = source(source_id)
    catalog = fidelity_catalog(extra_frameworks)
    framework = catalog.get(corpus.framework)
    if not path.is_file():
        raise DataFileError(path, None, None, "file not found")
    if (out_dir / DIALOGUES).exists() or (out_dir / MANIFEST).exists():
        raise OutputExistsError(f"{out_dir} already holds a corpus; choose another --out folder")
    warnings: list[str] = []
    settings: dict[str, object] = {"source": corpus.id, "path": str(path)}
    layout: str
    if corpus.id == "annomi":
        if data_format is not None:
            raise InputError("--format applies to ESConv (JSON, JSONL or YAML); AnnoMI is read as CSV")
        parsed = read_annomi(path, corpus, framework, quality)
        layout, transcripts = parsed.layout, parsed.transcripts
        settings |= {"layout": layout, "quality": quality or "all"}
        if parsed.voted_utterances:
            settings["annotator_resolution"] = "majority vote; ties go to the lowest-numbered annotator"
            warnings.append(
                f"{parsed.voted_utterances} utterances in {parsed.voted_transcripts} transcripts carry several "
                f"annotators' labels and were resolved by majority; {parsed.ties} behaviour ties and "
                f"{parsed.subtype_ties} subtype ties went to the lowest-numbered annotator"
            )
        if layout == "simple":
            warnings.append(
                "AnnoMI-simple has no behaviour subtypes: questions, reflections and therapist input carry the "
                "generic codes question / reflection / therapist_input, and % complex reflections and "
                "% open questions are n/a; import AnnoMI-full for subtypes"
            )
    elif quality is not None:
        raise InputError("--quality applies to AnnoMI only")
    else:
        layout, transcripts = read_esconv(path, corpus, framework, data_format)
        settings["layout"] = layout
        warnings.append("ESConv does not annotate the help-seeker's talk type: client talk-type metrics are n/a")
    if not transcripts:
        raise DataFileError(path, None, None, f"no {quality}-quality transcripts" if quality else "no dialogues")
    cases = [t.case(corpus.id, framework.id) for t in transcripts]
    _write(out_dir, path, corpus, catalog, cases, settings, warnings)
    return ImportSummary(corpus, layout, out_dir, len(cases), sum(len(t.turns) for t in transcripts), warnings)


def _write(
    out_dir: Path,
    path: Path,
    corpus: Source,
    catalog: FrameworkCatalog,
    cases: list[Case],
    settings: dict[str, object],
    warnings: list[str],
) -> None:
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out_dir, prefix=".import-"))
    try:
        with CaseWriter(staging) as writer:
            for case in cases:
                writer.write(case.model_dump_json())
        behaviours = Counter[str]()
        for case in cases:
            for session in case.sessions:
                behaviours.update(behaviour_counts(session.turns))
        manifest = RunManifest(
            run_id=f"import-{corpus.id}-{_sha256(path)[:12]}",
            status="complete",
            engine=HUMAN_ENGINE,
            offline=False,
            models={"counselor": HUMAN_ENGINE, "client": HUMAN_ENGINE},
            seed=0,
            settings=dict(settings),
            versions=_versions(),
            inputs={str(path): _sha256(path)},
            framework_hashes={corpus.framework: catalog.hashes[corpus.framework]},
            prompt_hashes={},
            policy_hashes={},
            counts={
                "cases": len(cases),
                "sessions": sum(len(c.sessions) for c in cases),
                "turns": sum(len(s.turns) for c in cases for s in c.sessions),
            },
            timings={"seconds": round(time.perf_counter() - started, 3)},
            code_statistics={f"{corpus.framework}.{k}": v for k, v in summary_scores(behaviours).items()},
            planned_cases=[c.case_id for c in cases],
            warnings=warnings,
        )
        os.replace(staging / DIALOGUES, out_dir / DIALOGUES)
        write_manifest(out_dir, manifest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    try:
        versions["counselsynth"] = metadata.version("counselsynth")
    except metadata.PackageNotFoundError:
        versions["counselsynth"] = "not installed"
    return versions


def iter_corpus(corpus_dir: Path) -> Iterator[Case]:
    """The cases of a run folder, with a clear error when the folder is not one."""
    if not corpus_dir.is_dir():
        raise DataFileError(corpus_dir, None, None, "corpus folder not found")
    if not (corpus_dir / DIALOGUES).is_file():
        raise DataFileError(corpus_dir / DIALOGUES, None, None, "file not found: not a corpus folder")
    yield from read_cases(corpus_dir)
