"""The fidelity check's settings and metric definitions, read from metrics.yaml."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from counselsynth.datafiles import load_one
from counselsynth.models import Strict

METRICS_FILE = Path(__file__).parent / "metrics.yaml"
Axis = Literal["structure", "behaviour", "language", "emotion", "c2st"]
AXES: tuple[Axis, ...] = ("structure", "behaviour", "language", "emotion", "c2st")
MetricKind = Literal["ratio", "mean", "mean_log", "spread", "jsd", "draws", "c2st", "agreement"]
Scale = Literal["identity", "log"]


class CheckSettings(Strict):
    alpha: float = Field(gt=0, lt=1, description="family-wise error rate of the overall verdict")
    min_cases: int = Field(ge=2, description="cases needed on each side to estimate variability")
    seed: int
    bootstrap: int = Field(ge=200, description="bootstrap replicates for JSD, spread and C2ST")
    token_budget: int = Field(ge=100, description="tokens per distinct-n sample")
    draws: int = Field(ge=2, description="distinct-n samples")
    language_sessions: int = Field(ge=2, description="sessions sampled for the language metrics and C2ST")
    comparison_sessions: int = Field(ge=1, description="other sessions each session is compared with")
    ngram: int = Field(ge=1, description="n of the n-grams shared across dialogues")
    opener_tokens: int = Field(ge=1, description="words that make an utterance's opener")
    c2st_max_per_side: int = Field(ge=20, description="utterances per side in the classifier test")
    c2st_folds: int = Field(ge=2)
    agreement_max_turns: int = Field(
        default=20_000, ge=100, description="counselor turns the code_agreement metric codes at most"
    )
    # Profiles saved before this setting existed load with the same value.
    max_unannotated_share: float = Field(
        default=0.2, ge=0, le=1, description="above it, metrics that read counselor codes are n/a"
    )


class MetricSpec(Strict):
    name: str
    axis: Axis
    label: str
    kind: MetricKind
    scale: Scale
    tolerance: float = Field(ge=0)
    higher: str
    lower: str
    bounds: tuple[float | None, float | None] = Field(
        default=(None, None), description="the metric's possible range; bands are clipped to it"
    )
    counselor_coded: bool = Field(
        default=False, description="reads counselor codes: n/a when too many counselor turns are not_annotated"
    )
    language_bound: bool = Field(
        default=False,
        description="counts words, so it compares only corpora in one language (language-axis metrics always do)",
    )

    def clip(self, band: tuple[float, float]) -> tuple[float, float]:
        low, high = self.bounds
        return (band[0] if low is None else max(low, band[0]), band[1] if high is None else min(high, band[1]))


class MetricsFile(Strict):
    settings: CheckSettings
    metrics: list[MetricSpec] = Field(min_length=1)


@cache
def metrics_file() -> MetricsFile:
    return load_one(METRICS_FILE, MetricsFile)


def check_settings() -> CheckSettings:
    return metrics_file().settings


def metric_specs() -> dict[str, MetricSpec]:
    return {spec.name: spec for spec in metrics_file().metrics}
