"""Figures of a fidelity report: the corpus and the reference side by side (matplotlib, Agg)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import NullFormatter, ScalarFormatter  # noqa: E402

from counselsynth.corpus import umask_mode  # noqa: E402
from counselsynth.fidelity.measures import THIRDS  # noqa: E402
from counselsynth.fidelity.metrics import MetricResult  # noqa: E402
from counselsynth.fidelity.profile import Profile  # noqa: E402

CORPUS_COLOUR = "#d95f02"
REFERENCE_COLOUR = "#1b9e77"
DPI = 110


def _save(figure: Figure, path: Path) -> None:
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
        axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)
        axes.set_title(title, fontsize=10)
        return
    low, high = float(both.min()), float(both.max())
    if log:
        bins = np.geomspace(low, high if high > low else 2 * low, 25).tolist()
        axes.set_xscale("log")
        axes.xaxis.set_major_formatter(ScalarFormatter())
        axes.xaxis.set_minor_formatter(NullFormatter())
    else:
        bins = np.linspace(low, high if high > low else low + 1, 25).tolist()
    for values, colour, name in ((reference, REFERENCE_COLOUR, "reference"), (corpus, CORPUS_COLOUR, "corpus")):
        if values.size:
            axes.hist(values, bins=bins, density=True, histtype="step", linewidth=1.8, color=colour, label=name)
            axes.axvline(float(np.median(values)), color=colour, linestyle="--", linewidth=1)
    axes.set_title(title, fontsize=10)
    axes.set_yticks([])


def distributions(corpus: Profile, reference: Profile, path: Path) -> None:
    figure, grid = plt.subplots(2, 3, figsize=(13, 6.5), layout="constrained")
    panels: list[tuple[str, Callable[[Profile], np.ndarray], bool]] = [
        ("Utterances per session", lambda p: np.asarray(p.sessions.utterances, dtype=float), True),
        ("Counselor words per utterance", lambda p: _per_session(p, "counselor_words", "counselor_utterances"), True),
        ("Client words per utterance", lambda p: _per_session(p, "client_words", "client_utterances"), True),
        ("Counselor share of words", lambda p: _per_session(p, "counselor_words", "words"), False),
        ("Share of 1-2 word utterances", lambda p: _per_session(p, "short_utterances", "utterances"), False),
        ("Reflections per question (R:Q)", _rq, True),
    ]
    for axes, (title, values, log) in zip(grid.flat, panels, strict=True):
        _histogram(axes, values(corpus), values(reference), title + " (per session)", log)
    grid.flat[0].legend(loc="upper right", fontsize=8)
    figure.suptitle(f"Distributions: {corpus.name} vs {reference.name} (dashed: medians)")
    _save(figure, path)


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
    _save(figure, path)


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
    _save(figure, path)


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
    _save(figure, path)


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
    sides = (("reference", reference, REFERENCE_COLOUR, "-"), ("corpus", corpus, CORPUS_COLOUR, "--"))
    if all(_arc_within(profile) is None for _, profile, _, _ in sides):
        _message(path, "Client emotion arc", "neither the corpus nor the reference annotates emotion intensity")
        return
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
    left.set_xticks(np.arange(3), list(THIRDS))
    left.set_ylabel("mean client emotion intensity (1-5)")
    left.set_title("Within sessions (by third)")
    left.legend(fontsize=8)
    right.set_title("Across sessions (by session index)")
    right.set_xlabel("session")
    if not drawn:
        right.set_xticks([])
        right.set_yticks([])
        right.text(0.5, 0.5, "single-session cases only", ha="center", va="center", transform=right.transAxes)
    _save(figure, path)
