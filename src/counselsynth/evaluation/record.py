"""What one evaluated session records besides its turns: the verdict of each check, the rubric
scores by window of turns, and the MITI-style counts of the counselor's text."""

from __future__ import annotations

from pydantic import Field

from counselsynth.strict import Strict


class CheckResult(Strict):
    name: str
    passed: bool
    failing_turns: list[int] = Field(default_factory=list, description="0-based turn indices that failed it")
    detail: str = ""


class WindowScore(Strict):
    first: int = Field(description="first counselor turn of the window (1-based)")
    last: int
    scores: dict[str, float]
    mean: float


class EvaluationRecord(Strict):
    suite: str
    scenario: str
    repeat: int = Field(ge=1, description="which session of the scenario (1-based)")
    counselor_model: str
    client_model: str
    passed: bool
    checks: list[CheckResult]
    windows: list[WindowScore] = Field(default_factory=list)
    miti: dict[str, int] = Field(default_factory=dict, description="coder's MITI behaviour counts of the text")
    beats: dict[str, int] = Field(default_factory=dict, description="beat id -> 0-based turn index it fired at")
    failed_turns: int = Field(default=0, description="counselor replies the endpoint refused or failed to produce")
