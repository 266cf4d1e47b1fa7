"""Where the shipped data folders are: in the checkout, or inside the installed wheel."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from counselsynth.errors import CounselsynthError

DataFolder = Literal["personas", "therapy_frameworks", "prompts", "scenarios"]


def data_dir(name: DataFolder) -> Path:
    # A wheel carries copies under counselsynth/_data (see pyproject's force-include);
    # an editable install reads the folders at the top of the checkout.
    packaged = Path(__file__).parent / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    raise CounselsynthError(f"the '{name}' data folder is missing from this installation")
