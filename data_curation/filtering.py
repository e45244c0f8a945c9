"""Keep or drop each clip by a recipe's rules. Every clip stays in the manifest: a dropped
clip has ``keep = False`` and the first failing rule as ``drop_reason``.

Quantile rules (SVD's "bottom 25% by motion") are computed over all scored clips of the
manifest, so re-filtering with another recipe needs no re-scoring. A rule whose column is
null everywhere (a model scorer without weights) is not applied (``curate filter`` says so:
:func:`unmeasured_columns`); one whose column the manifest lacks (``curate filter`` with a
recipe of other scorers) is not applied either, with a warning naming it. A clip whose own value is null or NaN passes that rule: the score could not be
measured (``motion_mean`` of a clip with fewer than two samples, shorter than ``1 / sample_fps``;
a model score without weights), which says nothing against the clip, and the other rules still
judge it. Quantiles are taken over the measured values only.

Of a group of near-duplicates (pHash within ``max_phash_distance``) the best clip is kept
(:func:`quality_key`: more pixels, then sharper, then a higher aesthetic score), not the one
whose file name sorts first.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from data_curation.recipe import Recipe
from data_curation.scorers.phash import HashIndex
from video.config import ConfigError


def _num(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _known_columns() -> set[str]:
    import importlib

    from data_curation.manifest import BASE_COLUMNS
    from data_curation.scorers import SCORERS

    cols = set(BASE_COLUMNS)
    for mod in SCORERS.values():
        cols |= set(importlib.import_module(mod).Scorer.columns)
    return cols


def thresholds(rows: list[dict], recipe: Recipe) -> list[tuple[str, float | None, float | None]]:
    """Each applicable rule as (column, low, high), quantiles resolved over the scored rows."""
    return [(col, lo, hi) for col, lo, _, hi, _ in _resolved(rows, recipe)]


def _resolved(rows: list[dict], recipe: Recipe) -> list[tuple[str, float | None, str, float | None, str]]:
    """Each applicable rule as (column, low, the rule that set it, high, the rule that set it):
    :func:`thresholds` with what the report shows beside each bound (:func:`bound_records`)."""
    out = []
    for r in recipe.rules:
        if rows and not any(r.column in row for row in rows):
            if r.column not in _known_columns():
                raise ConfigError(f"recipe rule column {r.column!r} is no score column; known: "
                                  f"{', '.join(sorted(_known_columns()))}")
            warnings.warn(f"recipe rule on column {r.column!r} not applied: the manifest has no such column "
                          "(its sources were not scored with the scorer that makes it)", stacklevel=2)
            continue  # a scorer this manifest was not scored with: the rule cannot apply
        vals = np.array([v for row in rows if _scored(row) and (v := _num(row.get(r.column))) is not None])
        if len(vals) == 0:
            continue
        lows = [(r.min, f"min {_written(r.min)}") if r.min is not None else None,
                (float(np.quantile(vals, r.min_quantile)), f"min_quantile {_written(r.min_quantile)}")
                if r.min_quantile is not None else None]
        highs = [(r.max, f"max {_written(r.max)}") if r.max is not None else None,
                 (float(np.quantile(vals, r.max_quantile)), f"max_quantile {_written(r.max_quantile)}")
                 if r.max_quantile is not None else None]
        lo, lo_rule = max((b for b in lows if b is not None), key=lambda b: b[0], default=(None, ""))
        hi, hi_rule = min((b for b in highs if b is not None), key=lambda b: b[0], default=(None, ""))
        out.append((r.column, None if lo is None else float(lo), lo_rule, None if hi is None else float(hi), hi_rule))
    return out


def _written(x: float) -> str:
    """A rule's number as a recipe writes it: the shortest text that reads back as it (``0.25``, ``1``)."""
    text = repr(float(x))
    return text.removesuffix(".0")


def bound_records(resolved: list[tuple[str, float | None, str, float | None, str]]) -> list[dict]:
    """The bounds :func:`apply_rules` compared, as the manifest records them
    (:data:`data_curation.manifest.THRESHOLDS_KEY`): ``{"column", "kind": "min"|"max", "value",
    "rule"}``, ``value`` the exact float compared and ``rule`` as the recipe wrote it
    (``"min_quantile 0.25"``; of a rule with both ``min`` and ``min_quantile``, the one that won).
    The drop reasons alone held a bound only where it dropped a clip, and to 4 digits."""
    out = []
    for col, lo, lo_rule, hi, hi_rule in resolved:
        for kind, value, rule in (("min", lo, lo_rule), ("max", hi, hi_rule)):
            if value is not None:
                out.append({"column": col, "kind": kind, "value": value, "rule": rule})
    return out


def _scored(row: dict) -> bool:
    return row.get("error") is None and row.get("start_frame") is not None


def unmeasured_columns(rows: list[dict], recipe: Recipe) -> list[str]:
    """The rule columns the manifest has but no scored clip measured (a model scorer without
    weights): their rules are not applied, which ``curate filter`` says. None when no clip
    was scored at all: then every rule is moot, not its scorer missing."""
    scored = [row for row in rows if _scored(row)]
    present = {c for row in rows for c in row}
    return [c for c in dict.fromkeys(r.column for r in recipe.rules)
            if scored and c in present and all(_num(row.get(c)) is None for row in scored)]


def quality_key(row: dict) -> tuple:
    """Sort key, best clip first, for keeping one of near-duplicates: more pixels (coded width x
    height), then higher sharpness, then higher aesthetic score (a score not there ranks
    last); ties go to the source path and start frame, so the choice is deterministic."""

    def desc(v) -> float:
        v = _num(v)
        return -v if v is not None else math.inf

    w, h = _num(row.get("width")), _num(row.get("height"))
    return (desc(w * h if w is not None and h is not None else None), desc(row.get("sharpness")),
            desc(row.get("aesthetic")), row["source"], row.get("start_frame") or 0)


def apply_filters(rows: list[dict], recipe: Recipe) -> list[dict]:
    """Set ``keep`` and ``drop_reason`` on every row (in place; also returned): the rules
    first, then near-duplicates among the clips that passed them, best first."""
    apply_rules(rows, recipe)
    return rows


def apply_rules(rows: list[dict], recipe: Recipe) -> list[dict]:
    """:func:`apply_filters`, returning the bounds it compared (:func:`bound_records`), which
    ``curate run`` and ``curate filter`` record in the manifest for ``curate report``'s lines."""
    resolved = _resolved(rows, recipe)
    rules = [(col, lo, hi) for col, lo, _, hi, _ in resolved]
    index = HashIndex(recipe.max_phash_distance) if recipe.max_phash_distance is not None else None
    for row in rows:
        reason = None
        if row.get("error") is not None:
            reason = "error"
        elif row.get("start_frame") is None:
            reason = "no_clip"
        else:
            for col, lo, hi in rules:
                v = _num(row.get(col))
                if v is None:
                    continue
                if lo is not None and v < lo:
                    reason = f"{col}<{lo:.4g}"
                    break
                if hi is not None and v > hi:
                    reason = f"{col}>{hi:.4g}"
                    break
        row["keep"], row["drop_reason"] = reason is None, reason
    if index is not None:
        for row in sorted((r for r in rows if r["keep"] and r.get("phash")), key=quality_key):
            if index.near(row["phash"]):
                row["keep"], row["drop_reason"] = False, "near_duplicate"
            else:
                index.add(row["phash"])
    return bound_records(resolved)
