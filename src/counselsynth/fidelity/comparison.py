"""Two-sample comparisons that account for the variability of both samples.

Every test is a minimum-effect test: it fails a metric only when the corpus differs from the
reference by more than the metric's tolerance, beyond what the sampling variability of *both*
samples explains, at the per-metric level `alpha / m` (Bonferroni over the m metrics tested).
Real corpora are heterogeneous, so the unit of resampling is the case (a real transcript, or a
generated multi-session case), never the utterance.

- Ratio estimators (sum of numerators / sum of denominators over cases) get the linearisation
  (delta-method) standard error with the case as the cluster, with the small-sample factor
  n/(n-1); the critical value is Student's t with Welch-Satterthwaite degrees of freedom.
- Statistics that are not ratios (the spread of session lengths, the Jensen-Shannon divergence
  of code mixes) use a Poisson case bootstrap (each case weighted by a Poisson(1) draw), which
  is what the classical bootstrap tends to and is cheap for 10,000 cases.
- The JSD null is a recentred bootstrap: each side's bootstrap deviations are added to the
  reference mix, so its spread reflects the heterogeneity of both samples.

An outcome's band is the range of corpus values that would pass, given both samples' variability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats  # type: ignore[import-untyped]

from counselsynth.fidelity.settings import Scale

Array = npt.NDArray[np.float64]
Verdict = Literal["pass", "fail"]
Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class Estimate:
    """A statistic of one sample: its value, standard error (natural scale) and size in cases."""

    value: float
    se: float
    n: int


@dataclass(frozen=True)
class Outcome:
    value: float
    reference: float
    band: tuple[float, float]
    p_value: float
    verdict: Verdict
    direction: Direction | None


def ratio_estimate(numerator: Array, denominator: Array) -> Estimate | None:
    """Sum over cases of `numerator` / sum of `denominator`, with its cluster-robust SE."""
    total = float(denominator.sum())
    n = len(denominator)
    if total <= 0 or n == 0:
        return None
    value = float(numerator.sum()) / total
    if n < 2:
        return Estimate(value, 0.0, n)
    residual = numerator - value * denominator
    se = math.sqrt(n / (n - 1) * float((residual**2).sum())) / total
    return Estimate(value, se, n)


def draws_estimate(draws: Array) -> Estimate | None:
    """The mean over equal-size samples, with the spread of one sample as its variability."""
    if len(draws) < 2:
        return None
    return Estimate(float(draws.mean()), float(draws.std(ddof=1)), len(draws))


def welch_df(a: float, n_a: int, b: float, n_b: int) -> float:
    """Welch-Satterthwaite degrees of freedom for the variances a and b of two means."""
    terms = (a * a / max(1, n_a - 1)) + (b * b / max(1, n_b - 1))
    return (a + b) ** 2 / terms if terms > 0 else math.inf


def critical(level: float, df: float) -> float:
    """One-sided critical value at `level` for Student's t with `df` degrees of freedom."""
    if math.isinf(df):
        return float(stats.norm.ppf(1 - level))
    return float(stats.t.ppf(1 - level, df))


def compare(corpus: Estimate, reference: Estimate, scale: Scale, tolerance: float, level: float) -> Outcome:
    """Minimum-effect test of corpus against reference on `scale` (log compares ratios)."""
    if scale == "log":
        if reference.value <= 0:
            raise ValueError("a log-scale comparison needs a positive reference value")
        if corpus.value <= 0:
            # No multiplicative band reaches 0: the corpus lacks what the metric counts.
            width = tolerance + critical(level, max(1, reference.n - 1)) * reference.se / reference.value
            band = (reference.value * math.exp(-width), reference.value * math.exp(width))
            return Outcome(corpus.value, reference.value, band, 0.0, "fail", "lower")
        diff = math.log(corpus.value) - math.log(reference.value)
        var_c = (corpus.se / corpus.value) ** 2
        var_r = (reference.se / reference.value) ** 2
    else:
        diff = corpus.value - reference.value
        var_c, var_r = corpus.se**2, reference.se**2
    se = math.sqrt(var_c + var_r)
    df = welch_df(var_c, corpus.n, var_r, reference.n)
    width = tolerance + critical(level, df) * se
    centre = math.log(reference.value) if scale == "log" else reference.value
    low, high = centre - width, centre + width
    band = (math.exp(low), math.exp(high)) if scale == "log" else (low, high)
    if se > 0:
        statistic = (abs(diff) - tolerance) / se
        p = float(stats.t.sf(statistic, df)) if not math.isinf(df) else float(stats.norm.sf(statistic))
    else:
        p = 0.0 if abs(diff) > tolerance else 1.0
    verdict: Verdict = "fail" if abs(diff) > width else "pass"
    direction: Direction | None = None if diff == 0 else ("higher" if diff > 0 else "lower")
    return Outcome(corpus.value, reference.value, band, min(1.0, p), verdict, direction)


def bootstrap_sums(columns: Array, replicates: int, seed: int) -> Array:
    """Poisson(1) case-bootstrap replicates of the column sums of `columns` (cases x k).

    Returns replicates x k. Weights are drawn in blocks, so memory stays small for large corpora;
    the same seed gives the same replicates, so statistics computed from one call are coupled.
    """
    n = columns.shape[0]
    generator = np.random.default_rng(seed)
    block = max(1, min(replicates, 2_000_000 // max(1, n)))
    out = []
    for start in range(0, replicates, block):
        size = min(block, replicates - start)
        weights = generator.poisson(1.0, size=(size, n)).astype(np.float64)
        out.append(weights @ columns)
    return np.concatenate(out)


def jensen_shannon(p: Array, q: Array) -> Array:
    """Row-wise Jensen-Shannon divergence in bits between probability rows of p and q."""
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log2(p / m), 0.0)
        right = np.where(q > 0, q * np.log2(q / m), 0.0)
    return np.asarray(0.5 * left.sum(axis=-1) + 0.5 * right.sum(axis=-1), dtype=np.float64)


@dataclass(frozen=True)
class MixTest:
    """The observed JSD of two code mixes and its null distribution."""

    observed: float
    null: Array
    corpus_mix: Array
    reference_mix: Array

    def outcome(self, tolerance: float, level: float) -> Outcome:
        limit = float(np.quantile(self.null, 1 - level)) + tolerance
        exceed = int(np.count_nonzero(self.null + tolerance >= self.observed))
        p = (1 + exceed) / (1 + len(self.null))
        verdict: Verdict = "fail" if self.observed > limit else "pass"
        return Outcome(self.observed, 0.0, (0.0, limit), p, verdict, "higher" if verdict == "fail" else None)


def mix_test(corpus: Array, corpus_boot: Array, reference: Array, reference_boot: Array) -> MixTest | None:
    """Compare two code mixes, given each side's class totals and their bootstrap replicates.

    The null adds each side's bootstrap deviations to the reference mix: two samples from the
    reference's population, each as variable as its own side.
    """
    if corpus.sum() <= 0 or reference.sum() <= 0:
        return None
    p_c = corpus / corpus.sum()
    p_r = reference / reference.sum()
    observed = float(jensen_shannon(p_c[None, :], p_r[None, :])[0])
    null_c = _normalised(p_r + (_shares(corpus_boot) - p_c))
    null_r = _normalised(p_r + (_shares(reference_boot) - p_r))
    return MixTest(observed, jensen_shannon(null_c, null_r), p_c, p_r)


def _shares(sums: Array) -> Array:
    totals = sums.sum(axis=1, keepdims=True)
    shares: Array = np.divide(sums, totals, out=np.zeros_like(sums), where=totals > 0)
    return shares


def _normalised(rows: Array) -> Array:
    return _shares(np.clip(rows, 0.0, None))
