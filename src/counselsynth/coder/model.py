"""A coder file: the weights of a fitted coder and the figures of its own validation."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from counselsynth.coder.features import FeatureSpec, vectorize
from counselsynth.corpus import write_atomic
from counselsynth.datafiles import load_one
from counselsynth.errors import UnknownNameError
from counselsynth.fidelity.profile import Citation
from counselsynth.models import Strict

SHIPPED_DIR = Path(__file__).parent / "shipped"
# Weights are stored as float16: a logistic regression's decisions do not change at that
# precision, and it keeps the shipped file small enough to read into memory in milliseconds.
DTYPE = np.dtype("<f2")


class Validation(Strict):
    """Grouped cross-validation on the fitting corpus: no dialogue is in both train and test."""

    folds: int
    dialogues: int
    turns: int
    kappa: float = Field(description="Cohen's kappa on the fine classes, out of fold")
    kappa_coarse: float | None = Field(default=None, description="the same on the scheme's coarse classes")
    f1: dict[str, float] = Field(description="per-class F1 on the fine classes, out of fold")


class CoderFile(Strict):
    name: str
    scheme: str = Field(description="the fidelity scheme whose classes the coder predicts (schemes.yaml)")
    language: str = Field(default="en", description="the language of the text it was fitted on")
    classes: list[str] = Field(min_length=2)
    features: FeatureSpec
    weights: str = Field(description="base64 of a little-endian float16 array, classes x features.width")
    intercepts: list[float]
    validation: Validation
    source: Citation | None = None

    @model_validator(mode="after")
    def _shapes(self) -> CoderFile:
        if len(self.intercepts) != len(self.classes):
            raise ValueError("one intercept per class is needed")
        if len(base64.b64decode(self.weights)) != len(self.classes) * self.features.width * DTYPE.itemsize:
            raise ValueError("weights do not match classes x features.width")
        return self

    @classmethod
    def from_arrays(
        cls, *, coefficients: npt.NDArray[np.float64], intercepts: npt.NDArray[np.float64], **fields: object
    ) -> CoderFile:
        packed = base64.b64encode(coefficients.astype(DTYPE).tobytes()).decode("ascii")
        return cls.model_validate({**fields, "weights": packed, "intercepts": [float(v) for v in intercepts]})

    def matrix(self) -> npt.NDArray[np.float32]:
        flat = np.frombuffer(base64.b64decode(self.weights), dtype=DTYPE).astype(np.float32)
        return flat.reshape(len(self.classes), self.features.width)

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most likely class of each text."""
        if not texts:
            return []
        scores = vectorize(texts, self.features) @ self.matrix().T + np.asarray(self.intercepts, dtype=np.float32)
        return [self.classes[i] for i in np.asarray(scores).argmax(axis=1)]


def save_coder(coder: CoderFile, path: Path) -> None:
    write_atomic(path, coder.model_dump_json(indent=1) + "\n")


@cache
def shipped_coders() -> dict[str, Path]:
    """Shipped coders by the scheme they code (e.g. mi)."""
    return {path.stem: path for path in sorted(SHIPPED_DIR.glob("*.json"))}


def load_coder(name_or_path: str) -> CoderFile:
    """A shipped coder by scheme name (e.g. mi) or a coder file written by `coder fit`."""
    if name_or_path in shipped_coders():
        return _load(shipped_coders()[name_or_path])
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        return _load(path)
    raise UnknownNameError("coder (a shipped coder or a coder .json)", name_or_path, shipped_coders())


@cache
def _load(path: Path) -> CoderFile:
    return load_one(path, CoderFile)
