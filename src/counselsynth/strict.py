"""The one base class of every record and data-file model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Forbids unknown keys, so a typo in a data file is an error instead of a silent default.

    Models that must not change once loaded (distribution tables) say so with
    `class Table(Strict, frozen=True)`."""

    model_config = ConfigDict(extra="forbid", frozen=False)
