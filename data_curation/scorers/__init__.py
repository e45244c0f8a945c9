"""Clip scorers, one module each. A scorer has a ``name``, a ``version`` (bumped when its
numbers change, recorded in the manifest), the ``inputs`` it reads from
:class:`~data_curation.clip_frames.ClipFrames`, and its output ``columns`` with their types.
Model scorers load weights from a local path only; without one they return nulls.
"""

from __future__ import annotations

import importlib

SCORERS = {
    "motion": "data_curation.scorers.motion",
    "sharpness": "data_curation.scorers.sharpness",
    "brightness": "data_curation.scorers.brightness",
    "black_frozen": "data_curation.scorers.black_frozen",
    "borders": "data_curation.scorers.borders",
    "ocr": "data_curation.scorers.ocr",
    "phash": "data_curation.scorers.phash",
    "clip": "data_curation.scorers.clip",
}


def build_scorers(recipe) -> list:
    """Instantiate the recipe's scorers (model loading happens here, once per worker)."""
    return [importlib.import_module(SCORERS[n]).Scorer(recipe) for n in recipe.scorers]


def all_columns(recipe) -> dict[str, str]:
    """Score column -> arrow type name, for every scorer of the recipe."""
    cols: dict[str, str] = {}
    for n in recipe.scorers:
        cols.update(importlib.import_module(SCORERS[n]).Scorer.columns)
    return cols
