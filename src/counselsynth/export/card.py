"""The dataset card: README.md with the hub's YAML metadata and a body that says how the data was
made, what is in it and where it falls short.

Every figure in the card is computed from the run (the census, the manifest, the fidelity report
and the framework files); the prose around the figures is the template
`templates/dataset_card.md.jinja2`. The YAML front matter is built as data and dumped with PyYAML,
so quoting can never break it.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, get_args

import yaml
from datasets import DatasetInfo, Features, SplitDict, SplitInfo, Value
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCardData

from counselsynth.datafiles import load_one
from counselsynth.errors import InputError
from counselsynth.export.census import MINORS, PERSONA_DIMENSIONS, Census
from counselsynth.export.choices import ExportFormat
from counselsynth.export.fidelity_summary import FidelityReport, citations
from counselsynth.export.formats import data_files_pattern
from counselsynth.export.rendering import render, template_hash
from counselsynth.export.rows import ROW_FIELDS, SYSTEM_TEMPLATE
from counselsynth.frameworks import FrameworkCatalog
from counselsynth.languages import language_name, primary_subtag
from counselsynth.models import NOT_ANNOTATED, Emotion, RunManifest, SafetyEvent, Strict, TalkValence, in_table_order

CARD_TEMPLATE = "dataset_card.md.jinja2"
VOCABULARY_FILE = Path(__file__).parent / "hub_vocabulary.yaml"
BASE_TAGS = ("synthetic", "counseling", "mental-health", "psychotherapy", "dialogue", "multi-turn", "counselsynth")
MITI_SUMMARY = {
    "r_to_q": "R:Q",
    "pct_complex_reflections": "% complex reflections",
    "pct_open_questions": "% open questions",
    "pct_mi_adherent": "% MI-adherent",
}


class HubVocabulary(Strict):
    licenses: list[str]
    size_categories: list[str]
    task_categories: list[str]
    task_ids: list[str]


@cache
def hub_vocabulary() -> HubVocabulary:
    return load_one(VOCABULARY_FILE, HubVocabulary)


def check_license(license_id: str) -> str:
    valid = hub_vocabulary().licenses
    if license_id not in valid:
        raise InputError(
            f"--license '{license_id}' is not a Hugging Face hub license id; valid: {', '.join(valid)} "
            "(see https://huggingface.co/docs/hub/repositories-licenses)"
        )
    return license_id


def size_category(rows: int) -> str:
    """n<1K below 1,000 rows, then one category per decade (1K<n<10K, 10K<n<100K, ...)."""
    labels = hub_vocabulary().size_categories
    decade = 0
    while rows >= 10 ** (decade + 3) and decade < len(labels) - 1:
        decade += 1
    return labels[decade]


def type_name(feature: Any) -> str:
    """A datasets feature as a short type: string, int32, list<string>, {role: string, ...}."""
    if isinstance(feature, Value):
        return str(feature.dtype)
    if isinstance(feature, dict):
        return "{" + ", ".join(f"{key}: {type_name(value)}" for key, value in feature.items()) + "}"
    if isinstance(feature, list):
        return f"list<{type_name(feature[0])}>"
    inner = getattr(feature, "feature", None)
    return f"list<{type_name(inner)}>" if inner is not None else type(feature).__name__


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class SplitFigures:
    name: str
    share: float
    rows: int
    cases: int
    personas: int
    files: list[str]
    nbytes: int


@dataclass(frozen=True)
class CardInputs:
    manifest: RunManifest
    census: Census
    catalog: FrameworkCatalog
    fmt: ExportFormat
    features: Features
    splits: list[SplitFigures]
    split_seed: int
    license: str
    system_message: bool
    first_role: str
    fidelity: FidelityReport | None
    repo_id: str | None
    run_files: list[str]


def hub_languages(census: Census) -> list[str]:
    return sorted({primary_subtag(tag) for tag in census.text_languages})


def metadata(inputs: CardInputs) -> dict[str, Any]:
    census = inputs.census
    vocabulary = hub_vocabulary()
    languages = hub_languages(census)
    tags = [tag for tag in BASE_TAGS if tag != "synthetic" or not census.looks_imported]
    tags += ["multi-session"] if census.sessions > census.cases else []
    tags += [slug(_framework_name(inputs.catalog, fid)) for fid in sorted(census.framework_sessions)]
    tags += ["offline-engine"] if inputs.manifest.offline else []
    split_dict = SplitDict()
    for split in inputs.splits:
        split_dict.add(SplitInfo(name=split.name, num_bytes=split.nbytes, num_examples=split.rows))
    card_data = DatasetCardData()
    info = DatasetInfo(features=inputs.features, splits=split_dict)
    DatasetInfosDict({"default": info}).to_dataset_card_data(card_data)
    dataset_info: dict[str, Any] = card_data.to_dict()["dataset_info"]  # type: ignore[no-untyped-call]
    dataset_info.pop("dataset_size", None)
    for split_info in dataset_info.get("splits", []):
        if not split_info.get("num_bytes"):
            split_info.pop("num_bytes", None)
    return {
        "pretty_name": _title(inputs),
        "license": inputs.license,
        "language": languages,
        "multilinguality": "monolingual" if len(languages) == 1 else "multilingual",
        "size_categories": [size_category(sum(s.rows for s in inputs.splits))],
        "task_categories": vocabulary.task_categories,
        "task_ids": vocabulary.task_ids,
        "annotations_creators": ["machine-generated"],
        "language_creators": ["machine-generated"],
        "source_datasets": ["original"],
        "tags": list(dict.fromkeys(tags)),
        "configs": [
            {
                "config_name": "default",
                "data_files": [
                    {"split": s.name, "path": data_files_pattern(inputs.fmt, s.name)} for s in inputs.splits
                ],
            }
        ],
        "dataset_info": dataset_info,
    }


def _framework_name(catalog: FrameworkCatalog, framework_id: str) -> str:
    framework = catalog.frameworks.get(framework_id)
    return framework.name if framework is not None else framework_id


def _title(inputs: CardInputs) -> str:
    names = [_framework_name(inputs.catalog, f) for f in sorted(inputs.census.framework_sessions)]
    return f"Synthetic counseling sessions ({', '.join(names)})"


def _mix(counter: Counter[str]) -> list[dict[str, Any]]:
    total = sum(counter.values()) or 1
    return [
        {"value": value, "count": count, "share": count / total}
        for value, count in sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    ]


def _frameworks_section(inputs: CardInputs) -> list[dict[str, Any]]:
    census = inputs.census
    stats = inputs.manifest.code_statistics
    sections = []
    for framework_id in sorted(census.framework_sessions):
        framework = inputs.catalog.frameworks.get(framework_id)
        codes = census.codes.get(framework_id, Counter())
        client_codes = census.client_codes.get(framework_id, Counter())
        # `not_annotated` marks a turn its source did not label; it is counted on its own line.
        known = {*framework.code_ids, NOT_ANNOTATED} if framework else set()
        known_client = {*(c.id for c in framework.client_codes), NOT_ANNOTATED} if framework else set()
        sections.append(
            {
                "id": framework_id,
                "name": _framework_name(inputs.catalog, framework_id),
                "framework": framework,
                "cases": census.framework_cases[framework_id],
                "sessions": census.framework_sessions[framework_id],
                "session_share": census.framework_sessions[framework_id] / max(1, census.sessions),
                "counselor_turns": sum(codes.values()),
                "codes": codes,
                "client_codes": client_codes,
                "undefined_codes": sorted(set(codes) - known),
                "undefined_client_codes": sorted(set(client_codes) - known_client),
                "miti": [
                    {"label": label, "value": stats.get(f"{framework_id}.{key}"), "percent": key.startswith("pct")}
                    for key, label in MITI_SUMMARY.items()
                    if f"{framework_id}.{key}" in stats
                ],
            }
        )
    return sections


def card_context(inputs: CardInputs) -> dict[str, Any]:
    manifest = inputs.manifest
    census = inputs.census
    settings = manifest.settings
    total_usage = manifest.usage.get("total")
    report = inputs.fidelity
    return {
        "front_matter": yaml.safe_dump(metadata(inputs), sort_keys=False, allow_unicode=True, width=1000),
        "title": _title(inputs),
        "repo_id": inputs.repo_id,
        "fmt": inputs.fmt,
        "offline": manifest.offline,
        "manifest": manifest,
        "census": census,
        "languages": [(code, language_name(code)) for code in hub_languages(census)],
        "text_languages": _mix(census.text_languages),
        "splits": inputs.splits,
        "split_seed": inputs.split_seed,
        "total_rows": sum(s.rows for s in inputs.splits),
        "row_fields": ROW_FIELDS,
        "field_types": {name: type_name(feature) for name, feature in inputs.features.items()},
        "system_message": inputs.system_message,
        "first_role": inputs.first_role,
        "system_template_hash": template_hash(SYSTEM_TEMPLATE),
        "license": inputs.license,
        "settings": {
            "framework": settings.get("framework"),
            "sessions per case": settings.get("sessions"),
            "critic revisions per session (max)": settings.get("max_revisions"),
            "persona limit": settings.get("limit"),
            "shard": settings.get("shard"),
        },
        "inputs": {Path(path).name: sha for path, sha in manifest.inputs.items()},
        "total_usage": total_usage,
        "failed_cases": manifest.counts.get("failed", 0),
        "label_checks": {
            kind: manifest.counts.get(f"turns_{kind}", 0)
            for kind in ("verified", "relabelled", "flagged", "unverified", "regenerated")
        },
        "planned_cases": manifest.counts.get("planned", len(manifest.planned_cases)),
        "persona_mix": [(dimension, _mix(census.persona_mix[dimension])) for dimension in PERSONA_DIMENSIONS],
        "minors": census.persona_mix["age"][MINORS],
        "frameworks": _frameworks_section(inputs),
        "emotions": get_args(Emotion),
        "safety_events": get_args(SafetyEvent),
        "valences": get_args(TalkValence),
        "safety": inputs.catalog.safety,
        "safety_event_counts": _mix(census.safety_events),
        "safety_step_counts": _mix(census.safety_steps),
        "translation": manifest.source_run,
        "target_language": settings.get("target"),
        "gates": in_table_order(manifest.gates),
        "fidelity": report,
        "fidelity_failures": [m for m in report.metrics if m.verdict == "fail"] if report else [],
        "citations": citations(report),
        "warnings": census.warnings.most_common(5),
        "run_files": inputs.run_files,
        "client_words_per_utterance": census.words["client"] / max(1, census.utterances["client"]),
        "counselor_words_per_utterance": census.words["counselor"] / max(1, census.utterances["counselor"]),
        "counselor_word_share": census.words["counselor"] / max(1, census.words["counselor"] + census.words["client"]),
    }


def render_card(inputs: CardInputs) -> str:
    return render(CARD_TEMPLATE, card_context(inputs))
