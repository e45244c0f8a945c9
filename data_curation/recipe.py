"""Curation recipes: which scorers run, how shots become clips, and which clips are kept.

A recipe is OmegaConf YAML under ``configs/curate/`` validated against :class:`Recipe`; an
unknown key or a wrong type is a :class:`~video.config.ConfigError` naming it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from video.config import CONFIG_DIR, ConfigError, load_config


@dataclass
class CutsConfig:
    decode: str = "auto"  # "all" (frame-exact), "ref" or "auto" (skip B-frames; see cuts.frame_features)
    min_across: float = 0.12
    ratio: float = 3.0
    gradual_ratio: float = 2.5
    threads: int = 0  # decoders per source at once (0: one per core; a Ray run shares the cores between sources)


@dataclass
class SplitConfig:
    min_s: float = 2.0  # shorter shots are dropped
    max_s: float = 10.0  # longer shots are split into clips of at most this length
    trim_s: float = 0.0  # trimmed at each end of a shot (transitions' tails)
    extract: bool = False  # write clip files (stream copy at keyframes, else re-encode); else reference only


@dataclass
class ModelsConfig:
    """Local paths only (nothing is downloaded); empty means the model scorers are skipped."""

    clip: str | None = None  # a transformers CLIPModel folder
    aesthetic_head: str | None = None  # safetensors: the LAION aesthetic MLP (scorers/aesthetic.py) or a linear head
    captioner: str | None = None  # a transformers image-to-text folder


@dataclass
class Rule:
    """Keep a clip when ``column`` is within the bounds; quantiles are over the whole manifest."""

    column: str = ""
    min: float | None = None
    max: float | None = None
    min_quantile: float | None = None
    max_quantile: float | None = None


@dataclass
class Recipe:
    name: str = "quick"
    scorers: list[str] = field(default_factory=lambda: ["motion", "sharpness", "brightness", "black_frozen",
                                                         "borders", "phash"])
    sample_fps: float = 2.0  # frames per second seen by the motion scorer
    motion_short_side: int = 64
    cuts: CutsConfig = field(default_factory=CutsConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    rules: list[Rule] = field(default_factory=list)
    max_phash_distance: int | None = 4  # near-duplicates of a kept clip are dropped; None keeps them


def recipe_path(name_or_path: str | Path) -> Path:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise ConfigError(f"recipe {p} not found")
        return p
    q = CONFIG_DIR / "curate" / f"{name_or_path}.yaml"
    if not q.is_file():
        names = sorted(x.stem for x in (CONFIG_DIR / "curate").glob("*.yaml"))
        raise ConfigError(f"no recipe {name_or_path!r}; available: {', '.join(names)}")
    return q


def load_recipe(name_or_path: str | Path | dict = "quick", overrides: list[str] | None = None) -> Recipe:
    src = name_or_path if isinstance(name_or_path, dict) else recipe_path(name_or_path)
    r = load_config(Recipe, src, overrides)
    from data_curation.scorers import SCORERS

    unknown = [s for s in r.scorers if s not in SCORERS]
    if unknown:
        raise ConfigError(f"recipe scorer {unknown[0]!r} unknown; available: {', '.join(SCORERS)}")
    from data_curation.cuts import DECODE_MODES

    if r.cuts.decode not in DECODE_MODES:
        raise ConfigError(f"config key 'cuts.decode': must be one of {', '.join(DECODE_MODES)}, got {r.cuts.decode!r}")
    if not 0 < r.split.min_s <= r.split.max_s:
        raise ConfigError("config key 'split': need 0 < min_s <= max_s")
    if r.max_phash_distance is not None and not 0 <= r.max_phash_distance < 64:  # checked before any scoring
        raise ConfigError("config key 'max_phash_distance': bits of a 64-bit pHash, 0 to 63, or null to keep "
                          f"near-duplicates; got {r.max_phash_distance}")
    return r


def scoring_key(r: Recipe) -> str:
    """A hash of what a source's part file depends on: cut detection, splitting, the scorers and
    their models. Not the filters (``rules``, ``max_phash_distance``: applied to the whole
    manifest at the end, re-runnable without scoring), nor ``cuts.threads`` (how many decoders,
    not what they find), nor the name."""
    d = asdict(r)
    for k in ("name", "rules", "max_phash_distance"):
        d.pop(k)
    d["cuts"].pop("threads")
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
