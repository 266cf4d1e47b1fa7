"""Reference profiles: the statistics of a corpus that the fidelity check compares with.

A profile holds numbers only, never text: per-session counts (so that two samples can be
compared, whatever their sizes), the language statistics of a seeded session sample, and the
citation and license note of the corpus it was built from. `build_profile` reads any corpus in
the record format, real or generated; the fidelity check builds the checked corpus's profile the
same way, so both sides are always measured alike.

Profiles for AnnoMI (high- and low-quality transcripts) and ESConv ship in `profiles/`; see
`shipped_profiles` for how each was built.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from counselsynth.corpus import MANIFEST, read_manifest, write_atomic
from counselsynth.datafiles import iter_records, load_one, validate
from counselsynth.errors import InputError, UnknownNameError
from counselsynth.fidelity.corpora import import_corpus
from counselsynth.fidelity.language import LanguageStats, SampledSession, language_stats
from counselsynth.fidelity.measures import MITI_COUNTS, QUESTIONS, REFLECTIONS
from counselsynth.fidelity.settings import CheckSettings, check_settings
from counselsynth.fidelity.sources import sources
from counselsynth.fidelity.tally import Tally, tally_corpus
from counselsynth.models import Strict

RECIPES_FILE = Path(__file__).parent / "profiles" / "recipes.yaml"
PROFILES_DIR = Path(__file__).parent / "profiles"
SUMMARY_COUNTS = (*MITI_COUNTS, REFLECTIONS, QUESTIONS)
VALENCES = ("change", "neutral", "sustain")


class Citation(Strict):
    corpus: str
    citation: str
    license: str


class SessionColumns(Strict):
    """One entry per session, in corpus order; `case` says which case (0-based) a session belongs to."""

    case: list[int]
    index: list[int]
    utterances: list[int]
    counselor_utterances: list[int]
    client_utterances: list[int]
    counselor_words: list[int]
    client_words: list[int]
    words: list[int]
    short_utterances: list[int]
    same_speaker: list[int]
    codes: dict[str, list[tuple[int, int, int]]] = Field(description="framework/code -> counts per third")
    miti: dict[str, list[int]]
    talk: dict[str, list[int]]
    emotion_sum: list[tuple[float, float, float]]
    emotion_count: list[tuple[int, int, int]]


class TextColumns(Strict):
    """Language statistics of the session sample (see counselsynth.fidelity.language)."""

    sample_sessions: int
    tokens: int
    distinct_1: list[float]
    distinct_2: list[float]
    case: list[int]
    repetition_shared: list[int]
    repetition_total: list[int]
    openers_matched: list[int]
    openers_total: list[int]


class Profile(Strict):
    format: Literal["counselsynth-profile/1"] = "counselsynth-profile/1"
    name: str
    description: str
    reference: Citation | None = None
    inputs: dict[str, str] = Field(default_factory=dict, description="source files and their sha256")
    language: str
    frameworks: dict[str, int] = Field(description="sessions per framework")
    cases: int
    settings: CheckSettings
    code_miti: dict[str, str | None]
    sessions: SessionColumns
    text: TextColumns

    @property
    def session_count(self) -> int:
        return len(self.sessions.case)


@dataclass(frozen=True)
class CorpusScan:
    """A corpus measured: its profile, the text sample that C2ST needs, and where it came from."""

    profile: Profile
    sample: list[SampledSession]
    sources: Counter[str]


def scan_corpus(
    corpus_dir: Path,
    *,
    name: str,
    description: str = "",
    language: str | None = None,
    framework: str | None = None,
    settings: CheckSettings | None = None,
) -> CorpusScan:
    """Measure every session of a corpus, optionally keeping only one language or framework."""
    builder = tally_corpus(corpus_dir, settings or check_settings(), language, framework)
    where = str(corpus_dir)
    if builder.cases == 0:
        chosen = " ".join(f"--{k} {v}" for k, v in (("language", language), ("framework", framework)) if v)
        raise InputError(f"{where} holds no dialogues{' for ' + chosen if chosen else ''}")
    if len(builder.languages) > 1:
        mix = ", ".join(
            f"{code}: {n} cases" for code, n in sorted(builder.languages.items(), key=lambda x: (-x[1], x[0]))
        )
        raise InputError(f"{where} mixes languages ({mix}); check one at a time with --language")
    return CorpusScan(_profile(builder, name, description), builder.sampler.sessions(), builder.sources)


def build_profile(corpus_dir: Path, *, name: str, description: str = "", **options: Any) -> Profile:
    """The profile of a corpus, with the citation of the real corpus it was imported from, if any."""
    scan = scan_corpus(corpus_dir, name=name, description=description, **options)
    return scan.profile.model_copy(update={"reference": corpus_citation(scan.sources), "inputs": _inputs(corpus_dir)})


def _profile(builder: Tally, name: str, description: str) -> Profile:
    settings = builder.settings
    measures = builder.measures
    codes = sorted(builder.code_miti)
    stats: LanguageStats = language_stats(
        builder.sampler.sessions(),
        token_budget=settings.token_budget,
        draws=settings.draws,
        comparison_sessions=settings.comparison_sessions,
        ngram=settings.ngram,
        opener_tokens=settings.opener_tokens,
        seed=settings.seed,
    )
    columns = SessionColumns(
        case=[m.case for m in measures],
        index=[m.index for m in measures],
        utterances=[m.utterances for m in measures],
        counselor_utterances=[m.counselor_utterances for m in measures],
        client_utterances=[m.client_utterances for m in measures],
        counselor_words=[m.counselor_words for m in measures],
        client_words=[m.client_words for m in measures],
        words=[m.words for m in measures],
        short_utterances=[m.short_utterances for m in measures],
        same_speaker=[m.same_speaker for m in measures],
        codes={code: [_triple(m.codes.get(code)) for m in measures] for code in codes},
        miti={key: [m.miti[key] for m in measures] for key in SUMMARY_COUNTS},
        talk={key: [m.talk[key] for m in measures] for key in VALENCES},
        emotion_sum=[(m.emotion_sum[0], m.emotion_sum[1], m.emotion_sum[2]) for m in measures],
        emotion_count=[(m.emotion_count[0], m.emotion_count[1], m.emotion_count[2]) for m in measures],
    )
    text = TextColumns(
        sample_sessions=len(builder.sampler.sessions()),
        tokens=stats.tokens,
        distinct_1=stats.distinct_1,
        distinct_2=stats.distinct_2,
        case=stats.cases,
        repetition_shared=stats.repetition_shared,
        repetition_total=stats.repetition_total,
        openers_matched=stats.openers_matched,
        openers_total=stats.openers_total,
    )
    (language,) = builder.languages
    return Profile(
        name=name,
        description=description,
        language=language,
        frameworks=dict(sorted(builder.frameworks.items())),
        cases=builder.cases,
        settings=settings,
        code_miti={code: builder.code_miti[code] for code in codes},
        sessions=columns,
        text=text,
    )


def _triple(counts: list[int] | None) -> tuple[int, int, int]:
    return (counts[0], counts[1], counts[2]) if counts else (0, 0, 0)


def corpus_citation(found: Counter[str]) -> Citation | None:
    """The citation of the real corpus that every case was imported from, if there is one."""
    if len(found) != 1 or next(iter(found)) not in sources():
        return None
    known = sources()[next(iter(found))]
    return Citation(corpus=known.name, citation=known.citation, license=known.license)


def _inputs(corpus_dir: Path) -> dict[str, str]:
    if not (corpus_dir / MANIFEST).is_file():
        return {}
    return {Path(path).name: digest for path, digest in read_manifest(corpus_dir).inputs.items()}


def save_profile(profile: Profile, path: Path) -> None:
    write_atomic(path, profile.model_dump_json(indent=None) + "\n")


class Recipe(Strict):
    """How a shipped profile is built from the real data (profiles/recipes.yaml)."""

    name: str
    source: Literal["annomi", "esconv"]
    file: str
    quality: Literal["high", "low"] | None = None
    description: str


@cache
def recipes() -> dict[str, Recipe]:
    return {r.name: r for r in (validate(Recipe, d, RECIPES_FILE, label) for label, d in iter_records(RECIPES_FILE))}


def rebuild_shipped(name: str, data_root: Path, workdir: Path) -> Profile:
    """Rebuild a shipped profile from the real data under `data_root` (../shared/data)."""
    recipe = recipes()[name]
    corpus_dir = workdir / name
    import_corpus(recipe.source, data_root / recipe.file, corpus_dir, recipe.quality)
    return build_profile(corpus_dir, name=name, description=recipe.description.strip())


@cache
def shipped_profiles() -> dict[str, Path]:
    return {path.stem: path for path in sorted(PROFILES_DIR.glob("*.json"))}


def load_profile(name_or_path: str) -> Profile:
    """A shipped profile by name (annomi-high, annomi-low, esconv), a profile file, or a corpus folder."""
    shipped = shipped_profiles()
    if name_or_path in shipped:
        return load_one(shipped[name_or_path], Profile)
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        return load_one(path, Profile)
    if path.is_dir():
        return build_profile(path, name=path.name)
    raise UnknownNameError("reference (a shipped profile, a profile .json or a corpus folder)", name_or_path, shipped)
