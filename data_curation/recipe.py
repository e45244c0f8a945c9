"""Curation recipes: which scorers run, how shots become clips, and which clips are kept.

A recipe is OmegaConf YAML under ``configs/curate/`` validated against :class:`Recipe`; an
unknown key or a wrong type is a :class:`~video.config.ConfigError` naming it. So is anything
that would otherwise fail only once sources are being scored, or after all of them were: a
sampling rate or frame size that gives no motion, a rule on a column no listed scorer
produces, a quantile outside 0..1, a model path that is not there.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
import math
import os
import warnings
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
    captioner: str | None = None  # a transformers captioning model folder (BLIP, GIT, ...)


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
    """The YAML file of a recipe: a path (``~`` expanded: quoted, ``--recipe '~/g.yaml'`` reaches
    here unexpanded by the shell) or a name under ``configs/curate/``."""
    p = Path(name_or_path).expanduser()
    if p.suffix in (".yaml", ".yml"):
        if not p.is_file():
            raise ConfigError(f"recipe {p} not found")
        return p
    q = CONFIG_DIR / "curate" / f"{name_or_path}.yaml"
    if not q.is_file():
        names = sorted(x.stem for x in (CONFIG_DIR / "curate").glob("*.yaml"))
        raise ConfigError(f"no recipe {name_or_path!r}; available: {', '.join(names)}")
    return q


MIN_MOTION_SIDE = 8  # Farneback (9 px window, 3 levels) finds no motion in smaller frames
# Every sample of a clip is held at this size until it is scored: motion_short_side=100000
# upscaled each 640x360 frame to 100000x177777 and the run was killed for memory, without a word.
# SVD's LVD filter measures flow at 16 px; 1024 is a 1080p source's short side, near enough.
MAX_MOTION_SIDE = 1024


def load_recipe(name_or_path: str | Path | dict = "quick", overrides: list[str] | None = None,
                scoring: bool = True, columns: frozenset[str] = frozenset()) -> Recipe:
    """The recipe, checked (:func:`check_recipe`): every mistake is one ConfigError line here,
    before any source is read. ``scoring=False`` for ``curate filter``, which runs no scorer,
    with ``columns`` the manifest's numeric ones: see :func:`check_recipe`."""
    src = name_or_path if isinstance(name_or_path, dict) else recipe_path(name_or_path)
    for o in overrides or []:
        key, _, value = o.partition("=")
        key = key.strip()
        if key.split(".")[0] in _LIST_KEYS and "." in key:  # omegaconf reads rules.0.min as a mapping
            raise ConfigError(f"config key {key!r}: --set cannot change one item of the list "
                              f"{key.split('.')[0]!r}; give the whole list, e.g. {_LIST_KEYS[key.split('.')[0]]}")
        if key in _LIST_KEYS and value.lstrip().startswith("{"):  # read as a one-item list, unlike in YAML
            raise ConfigError(_mapping_message(key))
    if (key := _mapping_for_list(src)) is not None:
        raise ConfigError(_mapping_message(key))
    try:
        r = load_config(Recipe, src, overrides)
    except TypeError:  # omegaconf merging a mapping into a list field (a TypeError naming no key)
        raise ConfigError(_mapping_message("rules")) from None
    return check_recipe(r, scoring, columns)


_LIST_KEYS = {"rules": "rules=[{column: motion_mean, min: 0.05}]", "scorers": "scorers=[motion,phash]"}
_LIST_OF = {"rules": "rules", "scorers": "scorer names"}


def _mapping_message(key: str) -> str:
    """A mapping where a list goes, said alike for ``--set`` and YAML: ``--set`` read
    ``rules={column: motion_mean, min: 1}`` as a one-item list, the same mapping in a file was
    refused."""
    return (f"config key {key!r}: must be a list of {_LIST_OF[key]}, got a mapping; put it in [ ]: "
            f"{_LIST_KEYS[key]} (in YAML also '- ' lines)")


def _mapping_for_list(src: Path | dict) -> str | None:
    """Which list field of the recipe file holds a mapping (None when none does)."""
    from omegaconf import OmegaConf

    try:
        raw = OmegaConf.create(src) if isinstance(src, dict) else OmegaConf.load(str(src))
    except Exception:
        return None  # load_config says what is wrong with the file
    return next((k for k in ("scorers", "rules") if OmegaConf.is_dict(raw.get(k))), None)


def score_columns() -> dict[str, tuple[str, str]]:
    """Every scorer's output column -> (scorer name, arrow type name)."""
    from data_curation.scorers import SCORERS

    return {col: (name, t) for name, mod in SCORERS.items()
            for col, t in importlib.import_module(mod).Scorer.columns.items()}


def _numeric(type_name: str) -> bool:
    return type_name.startswith(("float", "int", "double"))


def check_rules(r: Recipe, scoring: bool = True, columns: frozenset[str] = frozenset()) -> None:
    """Each rule names a numeric column that a scorer of this recipe produces, or one of the
    manifest's own (fps, width, num_frames, ...), and sets sensible bounds. ``scoring=False``
    (``curate filter``): a rule may name any scorer's column, listed in the recipe or not, since
    the columns are the manifest's, whatever recipe scored it (one it lacks is skipped with a
    warning: :func:`data_curation.filtering.thresholds`)."""
    import pyarrow as pa

    from data_curation.manifest import BASE_COLUMNS

    base = {c for c, t in BASE_COLUMNS.items() if pa.types.is_integer(t) or pa.types.is_floating(t)}
    scored = score_columns()
    base = base | set(columns)  # the manifest's own numeric columns (curate filter)
    known = base | {c for c, (_, t) in scored.items() if _numeric(t)}
    for i, rule in enumerate(r.rules):
        what = f"recipe rule {i + 1} (column {rule.column!r})"
        if rule.column in scored and rule.column not in base:
            scorer, t = scored[rule.column]
            if not _numeric(t):
                raise ConfigError(f"{what}: {rule.column!r} is not a number ({t}); rules compare numbers")
            if scoring and scorer not in r.scorers:
                raise ConfigError(f"{what}: produced by the {scorer!r} scorer, which recipe {r.name!r} does not "
                                  f"list in 'scorers'")
        elif rule.column not in base:
            near = difflib.get_close_matches(rule.column, sorted(known), n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise ConfigError(f"{what}: no such column; {hint}known: {', '.join(sorted(known))}")
        bounds = (rule.min, rule.max, rule.min_quantile, rule.max_quantile)
        if all(b is None for b in bounds):
            raise ConfigError(f"{what}: sets no bound (min, max, min_quantile or max_quantile)")
        if any(b is not None and not math.isfinite(b) for b in bounds):
            raise ConfigError(f"{what}: bounds must be finite numbers")
        for key in ("min_quantile", "max_quantile"):
            q = getattr(rule, key)
            if q is not None and not 0 <= q <= 1:
                raise ConfigError(f"{what}: {key} is a fraction of the clips, 0 to 1 (0.25 for the bottom 25%); "
                                  f"got {q}")
        for lo_key, hi_key in (("min", "max"), ("min_quantile", "max_quantile")):
            lo, hi = getattr(rule, lo_key), getattr(rule, hi_key)
            if lo is not None and hi is not None and lo > hi:
                raise ConfigError(f"{what}: {lo_key} {lo} is above {hi_key} {hi}: no clip could pass")


_WEIGHTS = ("*.safetensors",)  # what the scorers load (shards included); a pickled .bin is refused


def _model_type(path: str) -> str:
    """``model_type`` of a transformers folder's config.json ('' when it has none)."""
    try:
        return str(json.loads((Path(path) / "config.json").read_text()).get("model_type", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def check_models(r: Recipe) -> None:
    """Model paths exist and are what the clip scorer loads: a CLIP and a captioner folder (with
    config.json), an aesthetic head in safetensors that has a CLIP to score."""
    m = r.models
    for key, path in (("models.clip", m.clip), ("models.captioner", m.captioner)):
        if path and not Path(path).is_dir():
            raise ConfigError(f"config key {key!r}: {path} is not a folder (a local transformers model)")
        if path and not (Path(path) / "config.json").is_file():
            raise ConfigError(f"config key {key!r}: {path} has no config.json (not a transformers model folder)")
        if path and not any(next(Path(path).glob(pattern), None) for pattern in _WEIGHTS):
            pickled = " (a .bin is pickled and refused: loading a pickle can run code)" if next(
                Path(path).glob("*.bin"), None) else ""
            raise ConfigError(f"config key {key!r}: {path} has no .safetensors weights{pickled}")
    if m.clip:  # the config only (the weights load in each worker): a folder of another model fails here
        kind = _model_type(m.clip)
        if kind != "clip":
            raise ConfigError(f"config key 'models.clip': {m.clip} holds a {kind or 'untyped'!r} model, not CLIP")
    if m.aesthetic_head:
        p = Path(m.aesthetic_head)
        if not p.is_file():
            raise ConfigError(f"config key 'models.aesthetic_head': {p} not found")
        if p.suffix in (".pth", ".pt", ".bin", ".ckpt", ".pkl"):
            raise ConfigError(f"config key 'models.aesthetic_head': {p} is pickled; convert it to safetensors "
                              "(data_curation/scorers/aesthetic.py says how)")
        if not m.clip:
            raise ConfigError("config key 'models.aesthetic_head': needs models.clip (the head scores CLIP image "
                              "embeddings)")


# key -> (low, high, low is open): each numeric recipe value must be finite and within its range
# (NaN compares False with everything: unchecked, min_across=nan missed every cut, trim_s=nan and
# max_s=inf crashed the planning of every source, trim_s<0 gave clips crossing the cut)
NUMBER_RANGES: dict[str, tuple[float, float, bool]] = {
    "cuts.min_across": (0.0, 1.0, False),  # on the 0..1 frame distance
    "cuts.ratio": (0.0, math.inf, True),
    "cuts.gradual_ratio": (0.0, math.inf, True),
    "cuts.threads": (0, math.inf, False),
    "split.min_s": (0.0, math.inf, True),
    "split.max_s": (0.0, math.inf, True),
    "split.trim_s": (0.0, math.inf, False),
    "sample_fps": (0.0, math.inf, True),
}


def number_error(key: str, value: float, lo: float, hi: float, open_lo: bool) -> str | None:
    """Why ``value`` is no valid ``key`` (not finite, or outside ``lo..hi``; ``lo`` excluded
    when ``open_lo``); None when it is valid."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"config key {key!r}: must be a finite number, got {value}"
    if value < lo or (open_lo and value == lo) or value > hi:
        low = f"> {lo:g}" if open_lo else f">= {lo:g}"
        rng = low if math.isinf(hi) else f"{low} and <= {hi:g}"
        return f"config key {key!r}: must be {rng}, got {value}"
    return None


def check_numbers(r: Recipe) -> None:
    """Every numeric value of :data:`NUMBER_RANGES` finite and in range: ConfigError naming the key."""
    for key, (lo, hi, open_lo) in NUMBER_RANGES.items():
        obj = r
        for part in key.split("."):
            obj = getattr(obj, part)
        msg = number_error(key, obj, lo, hi, open_lo)
        if msg:
            if key == "sample_fps":
                msg += " (frames per second the motion scorer samples)"
            raise ConfigError(msg)


def check_recipe(r: Recipe, scoring: bool = True, columns: frozenset[str] = frozenset()) -> Recipe:
    """Everything about ``r`` that can be known before a source is read; ConfigError otherwise.
    ``scoring=False`` checks a recipe used only to filter a manifest (``curate filter``): its
    rules are not held to its own scorers, nor its model paths checked (no scorer runs), and
    they may name any of ``columns``, the manifest's numeric columns (one a user added too)."""
    from data_curation.scorers import SCORERS

    bad = [s for s in r.scorers if not isinstance(s, str) or s not in SCORERS]
    if bad:
        raise ConfigError(f"recipe scorer {bad[0]!r} unknown; available: {', '.join(SCORERS)}")
    from data_curation.cuts import DECODE_MODES

    if r.cuts.decode not in DECODE_MODES:
        raise ConfigError(f"config key 'cuts.decode': must be one of {', '.join(DECODE_MODES)}, got {r.cuts.decode!r}")
    dup = next((s for i, s in enumerate(r.scorers) if s in r.scorers[:i]), None)
    if dup is not None:
        raise ConfigError(f"recipe scorer {dup!r} is listed twice in 'scorers'")
    check_numbers(r)
    if r.split.min_s > r.split.max_s:
        raise ConfigError(f"config key 'split.min_s': {r.split.min_s} is above split.max_s {r.split.max_s}: "
                          "no clip could be cut")
    if r.motion_short_side < MIN_MOTION_SIDE:
        raise ConfigError(f"config key 'motion_short_side': at least {MIN_MOTION_SIDE} px (optical flow finds no "
                          f"motion in smaller frames); got {r.motion_short_side}")
    if r.motion_short_side > MAX_MOTION_SIDE:
        raise ConfigError(f"config key 'motion_short_side': at most {MAX_MOTION_SIDE} px (every sample of a clip "
                          f"is held at that size, enlarged from a smaller source; flow needs no more); "
                          f"got {r.motion_short_side}")
    if r.max_phash_distance is not None and not 0 <= r.max_phash_distance < 64:  # checked before any scoring
        raise ConfigError("config key 'max_phash_distance': bits of a 64-bit pHash, 0 to 63, or null to keep "
                          f"near-duplicates; got {r.max_phash_distance}")
    check_rules(r, scoring, columns)
    if scoring:
        check_models(r)
        if (why := unused_models_warning(r)) is not None:
            warnings.warn(why, stacklevel=2)
    return r


def unused_models_warning(r: Recipe) -> str | None:
    """The warning for model paths a recipe sets while it does not run the clip scorer, the only
    one that loads them (None when there is nothing to say): without it they are ignored, every
    caption stays null, and nothing said so."""
    if "clip" in r.scorers:
        return None
    keys = [f"models.{k}" for k, v in asdict(r.models).items() if v]
    if not keys:
        return None
    return (f"{', '.join(keys)} {'is' if len(keys) == 1 else 'are'} set but recipe {r.name!r} does not run the "
            f"clip scorer, so no model is loaded: add it with --set 'scorers=[{','.join([*r.scorers, 'clip'])}]'")


def absolute_models(r: Recipe) -> Recipe:
    """``r`` with its model paths absolute: what a Ray task gets, since a cluster's worker
    resolves a relative path against its own folder, where no model is."""
    from dataclasses import replace

    m = r.models
    fix = {k: os.path.abspath(v) for k, v in asdict(m).items() if v}
    if not fix:
        return r
    out = replace(r, models=replace(m, **fix))
    # the driver's view of the models' files goes with it, so a task's part carries the key the
    # driver looks for (a node's own copy of a model has its own times)
    out.__dict__[_PINNED] = model_fingerprints(r)
    return out


# What the clip scorer reads from a model folder: configs (model, processor, tokenizer), weights,
# vocabularies (vocab.txt, merges.txt, spiece.model); not a README or a training run's files
MODEL_FILES = ("*.json", "*.safetensors", "*.txt", "*.model")


def model_files(path: str) -> list[list]:
    """``[name, size, mtime_ns]`` of each file the scorers read from the model ``path`` (a
    folder's :data:`MODEL_FILES`, or the file itself), sorted: weights replaced at the same path
    change it without a byte being read, as ``video cache-latents`` tells new encoders
    (:func:`video.training.cache.file_fingerprint`, not imported: it loads torch). A file
    rewritten with the same size and time (``cp -p``) counts as unchanged."""
    p = Path(path)
    files = sorted({f for pattern in MODEL_FILES for f in p.glob(pattern)}) if p.is_dir() else [p]
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:
            continue
        out.append([f.name, st.st_size, st.st_mtime_ns])
    return out


_PINNED = "_model_files"  # a Recipe attribute, no config key: see absolute_models


def model_fingerprints(r: Recipe) -> dict[str, list[list]]:
    """:func:`model_files` of each model the recipe names (as :func:`absolute_models` saw them
    in the driver, when it made ``r``)."""
    pinned = r.__dict__.get(_PINNED)
    return pinned if pinned is not None else {k: model_files(v) for k, v in asdict(r.models).items() if v}


def scoring_key(r: Recipe, ordered: bool = False, as_typed: bool = False, extract: bool | None = None,
                versions: dict[str, int] | None = None, unused_models: bool = False) -> str:
    """A hash of what a source's part file depends on: cut detection (its settings and
    :data:`~data_curation.cuts.CUT_VERSION`), splitting, the scorers and their models. Not the
    filters (``rules``, ``max_phash_distance``: applied to the whole manifest at the end,
    re-runnable without scoring), nor ``cuts.threads`` (how many decoders, not what they find),
    nor the name, nor ``split.extract``: the clips and their scores are the same with or without
    their files (a run that extracts writes the files a part lacks without scoring again:
    :func:`data_curation.engine.extract_missing`); ``extract``: the key of parts written while
    it was in the key, with that value, still accepted by a resume (:func:`scoring_keys`). The
    scorers' versions are in it: a scorer whose numbers changed rescores the sources scored
    before. The scorers' order is not in it (reordering the list changes no
    score). Model paths count as absolute paths (``models/clip`` typed in one folder and its
    absolute path are one model, as a Ray task sees it); ``as_typed``: the key of parts written
    before that, with the paths as given, still accepted by a resume. The models' files are in
    it too (:func:`model_files`): new weights at the same path rescore (parts of earlier
    versions, whose key had none, are scored once again when the recipe names a model; with no
    model the key is as it was). The models count only when the clip scorer, which loads them,
    is listed: a recipe without it scores the same with any (a ``--set models.captioner=...``
    rescored every source); ``unused_models``: the key of parts written while they counted
    whatever the scorers, still accepted by a resume. ``versions``: scorer versions in place of
    today's."""
    from data_curation.cuts import CUT_VERSION
    from data_curation.scorers import SCORERS

    used = "clip" in r.scorers or unused_models
    d = asdict(r if as_typed or not used else absolute_models(r))
    if not used:  # as a recipe without models: such keys stay as they were
        d["models"] = asdict(ModelsConfig())
    for k in ("name", "rules", "max_phash_distance"):
        d.pop(k)
    d["cuts"].pop("threads")
    if extract is None:
        d["split"].pop("extract")
    else:
        d["split"]["extract"] = extract
    # their columns are disjoint and each reads the frames only: order is moot. ``ordered``: the
    # key of parts written before that was seen (the list as given), still accepted by a resume
    d["scorers"] = list(r.scorers) if ordered else sorted(set(r.scorers))
    d["versions"] = {n: (versions or {}).get(n, importlib.import_module(SCORERS[n]).Scorer.version)
                     for n in r.scorers}
    files = model_fingerprints(r) if used else {}
    if files:  # no model, no entry: those keys stay as they were
        d["model_files"] = files
    if CUT_VERSION > 1:  # version 1 was in no key: the keys written then stay as they were
        d["cut_version"] = CUT_VERSION
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def scoring_keys(r: Recipe) -> set[str]:
    """Every key a part scored under ``r`` may carry (:func:`scoring_key`): today's, and those
    of earlier versions (the scorers as listed, model paths as typed, ``split.extract`` in the
    key; clip scorer version 2 where no model is configured: its columns are null at any
    version; models a recipe without the clip scorer sets, in the key), so that an upgrade
    rescores nothing it need not."""
    models = any(asdict(r.models).values())
    old = [None, {"clip": 2}] if "clip" in r.scorers and not models else [None]
    unused = (False, True) if "clip" not in r.scorers and models else (False,)
    return {scoring_key(r, ordered=o, as_typed=a, extract=x, versions=v, unused_models=u)
            for o in (False, True) for a in (False, True) for x in (None, False, True) for v in old
            for u in unused}


RECIPE_FILE = "run_recipe.yaml"  # in OUT: the recipe a run scored and filtered with (curate run --recipe takes it);
# not "recipe.yaml": a user's own recipe kept in the folder given as OUT was rewritten


def recipe_yaml(r: Recipe) -> str:
    """``r`` as a recipe file that :func:`load_recipe` reads back to the same recipe (and the
    same :func:`scoring_key`): every key written out, model paths absolute so that it holds from
    any folder (the key counts them absolute too). Written without an OmegaConf tree, whose grammar
    refused a text's unclosed ``${`` (a model path ``c${x``) in a traceback."""
    from video.config_data import to_yaml

    d = asdict(r)
    d["models"] = {k: os.path.abspath(v) if v else None for k, v in d["models"].items()}
    head = f"# a curate run's recipe, --set overrides applied: curate run SRC --out OUT --recipe OUT/{RECIPE_FILE}\n"
    return head + to_yaml(d)


def save_recipe(r: Recipe, out: str | Path) -> Path:
    """``OUT/run_recipe.yaml`` (:func:`recipe_yaml`), atomically: a run's output folder says how to
    make it again, ``--set`` overrides included (OUT held only the manifest and its parts)."""
    from video.atomic import atomic_file

    path = Path(out) / RECIPE_FILE
    with atomic_file(path) as tmp:
        tmp.write_text(recipe_yaml(r), encoding="utf-8")
    return path
