"""Figures of a fidelity report: the corpus and the reference side by side (matplotlib, Agg)."""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    PercentFormatter,
)

from counselsynth.corpus import umask_mode  # noqa: E402
from counselsynth.fidelity.measures import THIRDS  # noqa: E402
from counselsynth.fidelity.metrics import MetricResult  # noqa: E402
from counselsynth.fidelity.profile import Profile  # noqa: E402

CORPUS_COLOUR = "#d95f02"
REFERENCE_COLOUR = "#1b9e77"
DPI = 110


def save_figure(figure: Figure, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.fchmod(fd, umask_mode())
    os.close(fd)
    try:
        figure.savefig(tmp, dpi=DPI, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        plt.close(figure)
        Path(tmp).unlink(missing_ok=True)


def _per_session(profile: Profile, numerator: str, denominator: str) -> np.ndarray:
    columns = profile.sessions
    top = np.asarray(getattr(columns, numerator), dtype=float)
    bottom = np.asarray(getattr(columns, denominator), dtype=float)
    keep = bottom > 0
    return np.asarray(top[keep] / bottom[keep])


def _histogram(axes: Axes, corpus: np.ndarray, reference: np.ndarray, title: str, log: bool = False) -> None:
    if log:  # a log axis shows positive values only
        corpus, reference = corpus[corpus > 0], reference[reference > 0]
    both = np.concatenate([corpus, reference])
    if both.size == 0:
        _panel_note(axes, title, "no data")
        return
    low, high = float(both.min()), float(both.max())
    if log:
        bins = np.geomspace(low, high if high > low else 2 * low, 25).tolist()
        axes.set_xscale("log")
        # Ticks at 1-2-5 steps: a log axis with labels only at powers of ten shows one or two numbers.
        axes.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axes.xaxis.set_minor_formatter(NullFormatter())
    else:
        bins = np.linspace(low, high if high > low else low + 1, 25).tolist()
        axes.xaxis.set_major_locator(MaxNLocator(nbins=8))
    for values, colour, name in ((reference, REFERENCE_COLOUR, "reference"), (corpus, CORPUS_COLOUR, "corpus")):
        if values.size:
            # Weighted to shares of each side's sessions, so both sides compare whatever their sizes.
            weights = np.full(values.size, 1.0 / values.size)
            axes.hist(values, bins=bins, weights=weights, histtype="step", linewidth=1.8, color=colour, label=name)
            axes.axvline(float(np.median(values)), color=colour, linestyle="--", linewidth=1)
    axes.set_title(title, fontsize=10)
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    axes.set_ylabel("share of sessions", fontsize=8)
    axes.tick_params(labelsize=8)


def _panel_note(axes: Axes, title: str, text: str) -> None:
    axes.set_title(title, fontsize=10)
    axes.set_xticks([])
    axes.set_yticks([])
    axes.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=9, transform=axes.transAxes)


# Panels of distributions.png: the metric each one shows, its title, its per-session values, log x.
PANELS: list[tuple[str, str, Callable[[Profile], np.ndarray], bool]] = [
    ("utterances_per_session", "Utterances per session", lambda p: np.asarray(p.sessions.utterances, float), True),
    (
        "counselor_words_per_utterance",
        "Counselor words per utterance",
        lambda p: _per_session(p, "counselor_words", "counselor_utterances"),
        True,
    ),
    (
        "client_words_per_utterance",
        "Client words per utterance",
        lambda p: _per_session(p, "client_words", "client_utterances"),
        True,
    ),
    (
        "counselor_share_of_words",
        "Counselor share of words",
        lambda p: _per_session(p, "counselor_words", "words"),
        False,
    ),
    (
        "short_utterance_share",
        "Share of 1-2 word utterances",
        lambda p: _per_session(p, "short_utterances", "utterances"),
        False,
    ),
    ("r_to_q", "Reflections per question (R:Q)", lambda p: _rq(p), True),
]


def distributions(corpus: Profile, reference: Profile, metrics: dict[str, MetricResult], path: Path) -> None:
    save_figure(distributions_figure(corpus, reference, metrics), path)


def distributions_figure(corpus: Profile, reference: Profile, metrics: dict[str, MetricResult]) -> Figure:
    """Per-session distributions of the metrics the table compares; a metric that is n/a (say, word
    counts across languages) gets its panel's reason instead of a comparison the table does not make."""
    figure, grid = plt.subplots(2, 3, figsize=(13, 6.5), layout="constrained")
    for axes, (name, title, values, log) in zip(grid.flat, PANELS, strict=True):
        metric = metrics.get(name)
        if metric is not None and metric.verdict == "n/a":
            _panel_note(axes, title, "not compared:\n" + textwrap.fill(metric.note, 40))
            continue
        _histogram(axes, values(corpus), values(reference), title + " (per session)", log)
    handles = [a for a in grid.flat if a.get_legend_handles_labels()[0]]
    if handles:
        handles[0].legend(loc="upper right", fontsize=8)
    figure.suptitle(f"Distributions: {corpus.name} vs {reference.name} (dashed: medians)")
    return figure


def _rq(profile: Profile) -> np.ndarray:
    reflections = np.asarray(profile.sessions.miti["reflections"], dtype=float)
    questions = np.asarray(profile.sessions.miti["questions"], dtype=float)
    keep = (questions > 0) & (reflections > 0)
    return np.asarray(reflections[keep] / questions[keep])


def _message(path: Path, title: str, text: str) -> None:
    figure, axes = plt.subplots(figsize=(7, 2.2))
    axes.axis("off")
    axes.set_title(title)
    axes.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=10)
    save_figure(figure, path)


def code_mix(metric: MetricResult, path: Path) -> None:
    classes = metric.extra.get("classes")
    if metric.verdict == "n/a" or not classes:
        _message(path, "Counselor code mix", f"not compared: {metric.note}")
        return
    corpus = np.asarray(metric.extra["corpus_mix"])
    reference = np.asarray(metric.extra["reference_mix"])
    figure, axes = plt.subplots(figsize=(max(7, 1.1 * len(classes)), 4), layout="constrained")
    x = np.arange(len(classes))
    axes.bar(x - 0.2, reference, width=0.4, color=REFERENCE_COLOUR, label="reference")
    axes.bar(x + 0.2, corpus, width=0.4, color=CORPUS_COLOUR, label="corpus")
    axes.set_xticks(x, [c.replace("_", " ") for c in classes], rotation=30, ha="right")
    axes.set_ylabel("share of counselor utterances")
    axes.set_title(f"Counselor code mix (JSD {metric.value:.3f} bits; {metric.verdict})")
    axes.legend()
    save_figure(figure, path)


def positional(thirds: list[MetricResult], path: Path) -> None:
    usable = [m for m in thirds if m.verdict != "n/a" and m.extra.get("classes")]
    if len(usable) != 3:
        note = next((m.note for m in thirds if m.verdict == "n/a"), "not compared")
        _message(path, "Counselor codes by position in the session", f"not compared: {note}")
        return
    classes: list[str] = usable[0].extra["classes"]
    corpus = np.asarray([m.extra["corpus_mix"] for m in usable])
    reference = np.asarray([m.extra["reference_mix"] for m in usable])
    columns = min(4, len(classes))
    rows = -(-len(classes) // columns)
    figure, grid = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), squeeze=False, layout="constrained")
    x = np.arange(3)
    for index, axes in enumerate(grid.flat):
        if index >= len(classes):
            axes.axis("off")
            continue
        axes.plot(x, reference[:, index], marker="o", color=REFERENCE_COLOUR, label="reference")
        axes.plot(x, corpus[:, index], marker="o", color=CORPUS_COLOUR, label="corpus")
        axes.set_xticks(x, list(THIRDS))
        axes.set_title(classes[index].replace("_", " "), fontsize=10)
        axes.set_ylim(bottom=0)
    grid.flat[0].legend(fontsize=8)
    verdicts = ", ".join(f"{THIRDS[i]} {m.verdict}" for i, m in enumerate(usable))
    figure.suptitle(f"Share of counselor utterances by third of the session ({verdicts})")
    save_figure(figure, path)


def _arc_within(profile: Profile) -> np.ndarray | None:
    sums = np.asarray(profile.sessions.emotion_sum, dtype=float).reshape(-1, 3).sum(axis=0)
    counts = np.asarray(profile.sessions.emotion_count, dtype=float).reshape(-1, 3).sum(axis=0)
    if counts.sum() == 0:
        return None
    arc: np.ndarray = np.divide(sums, counts, out=np.full(3, np.nan), where=counts > 0)
    return arc


def _arc_across(profile: Profile) -> tuple[np.ndarray, np.ndarray] | None:
    sums = np.asarray(profile.sessions.emotion_sum, dtype=float).reshape(-1, 3).sum(axis=1)
    counts = np.asarray(profile.sessions.emotion_count, dtype=float).reshape(-1, 3).sum(axis=1)
    index = np.asarray(profile.sessions.index)
    if counts.sum() == 0 or len(set(index.tolist())) < 2:
        return None
    sessions = np.unique(index)
    means = [sums[index == s].sum() / max(1.0, counts[index == s].sum()) for s in sessions]
    return sessions, np.asarray(means)


def emotion_arc(corpus: Profile, reference: Profile, path: Path) -> None:
    figure = emotion_arc_figure(corpus, reference)
    if figure is None:
        _message(path, "Client emotion arc", "neither the corpus nor the reference annotates emotion intensity")
    else:
        save_figure(figure, path)


def emotion_arc_figure(corpus: Profile, reference: Profile) -> Figure | None:
    """Mean client emotion intensity by third and by session, on the whole 1-5 scale; None when
    neither side has emotion labels."""
    sides = (("reference", reference, REFERENCE_COLOUR, "-"), ("corpus", corpus, CORPUS_COLOUR, "--"))
    unlabelled = [name for name, profile, _, _ in sides if _arc_within(profile) is None]
    if len(unlabelled) == 2:
        return None
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    drawn = False
    for name, profile, colour, style in sides:
        within = _arc_within(profile)
        if within is not None:
            left.plot(np.arange(3), within, marker="o", color=colour, linestyle=style, label=name)
        across = _arc_across(profile)
        if across is not None:
            right.plot(across[0], across[1], marker="o", color=colour, linestyle=style, label=name)
            drawn = True
    for axes in (left, right):
        # The whole 1-5 scale: a zoomed axis makes a change of 0.3 look like a collapse.
        axes.set_ylim(1, 5)
        axes.set_yticks(range(1, 6))
        axes.grid(axis="y", alpha=0.3)
    left.set_xticks(np.arange(3), list(THIRDS))
    left.set_ylabel("mean client emotion intensity (1-5)")
    left.set_title("Within sessions (by third)")
    left.legend(fontsize=8, loc="upper right")
    if unlabelled:
        drawn_side = "corpus" if unlabelled[0] == "reference" else "reference"
        figure.suptitle(
            f"The {unlabelled[0]} has no client emotion labels: only the {drawn_side} is drawn", fontsize=10
        )
    right.set_title("Across sessions (by session index)")
    right.set_xlabel("session")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    if not drawn:
        right.set_xticks([])
        right.set_yticks([])
        right.text(0.5, 0.5, "single-session cases only", ha="center", va="center", transform=right.transAxes)
    return figure
