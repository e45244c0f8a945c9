"""Built-in model names in a model argument: ``builtin:NAME`` always the built-in, a published
name (``svd_xt``) the user's file of that name first, the other built-in names never looked up.
Apart from :mod:`video.models.folder`, which finds weights by name and knows no built-ins.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from video.models.extra_paths import one_line as _one_line
from video.models.folder import ModelsFolder, NameNotFound, canonical_kind, resolve_model_arg
from video.runtime.errors import CheckpointError

BUILTIN_PREFIX = "builtin:"  # --model builtin:svd_xt: the built-in, whatever the models folder holds
# Built-in random-weight names that are also published file names (Stability's svd.safetensors and
# svd_xt.safetensors): a model of the user's of exactly that name is what they mean. The others
# (tiny, tiny-svd, t2v_tiny, the configs' names) are smoke-test names that nobody publishes: they
# are always the built-in and never looked up, so the default ``--model tiny`` reads no models
# folder (a broken ./extra_model_paths.yaml, two tiny.safetensors or a wan/tiny/ folder failed it).
PUBLISHED_BUILTINS = ("svd", "svd_xt")


def resolve_model_name_or_builtin(value: str, builtins: tuple[str, ...], kind: str = "checkpoints",
                                  models_dir: str | Path | None = None, extra_configs: list[str | Path] = (),
                                  offered: tuple[str, ...] | None = None, use: str = "--model",
                                  tiny_is_t2v: bool = False) -> str:
    """A model argument of any command (img2vid, txt2vid, info, edit, upscale --refine, animate),
    read one way: ``builtin:NAME`` is the built-in ``NAME`` (one of ``builtins``), whatever
    the models folder holds; a name of :data:`PUBLISHED_BUILTINS` is the user's model of
    exactly that name at the top of a search folder (``svd_xt.safetensors``: building the
    random 2.25B network instead took minutes and 9 GB), with a note on stderr, else the
    built-in; any other built-in name is the built-in, never looked up; anything else is
    :func:`resolve_model_arg` (``offered``: the built-in names its not-found error lists,
    default ``builtins``). A built-in name whose lookup fails other than "not found" (two
    such models, an unreadable extra_model_paths.yaml) is the built-in, with a warning that
    says why: it was the built-in before the lookup existed. ``tiny_is_t2v``: the caller's
    ``tiny`` is txt2vid's (txt2vid, edit, upscale --refine), so ``t2v_tiny`` is it too
    (:func:`_t2v_tiny`). ``use`` spells the
    ``builtin:`` hint (``--model``, ``--refine``, ``video info``). The loaders read a
    built-in name as the built-in whatever the working folder holds (``builtin:tiny`` with a
    ./tiny folder read the folder), so a folder ./svd_xt that a bare ``svd_xt`` meant, as
    before, is returned spelled as a path, ``./svd_xt``; a bare ``tiny`` is the built-in even
    with a ./tiny there (``./tiny`` loads that)."""
    value = str(value)
    if T2V_TINY not in builtins and value in (T2V_TINY, BUILTIN_PREFIX + T2V_TINY):
        return _t2v_tiny(builtins, offered, use, tiny_is_t2v)
    name = builtin_prefix_name(value, builtins)
    if name is not None:
        return name
    if value not in builtins:
        keep = tuple(builtins if offered is None else offered)
        return resolve_model_arg(value, kind, models_dir, keep=keep, extra_configs=extra_configs)
    if value not in PUBLISHED_BUILTINS:
        return value
    if Path(value).exists():
        return os.path.join(os.curdir, value)
    return _published_or_builtin(value, kind, models_dir, extra_configs, use)


T2V_TINY = "t2v_tiny"  # txt2vid's built-in `tiny` by its config's name (configs/model/, as `video info` takes it)


def _t2v_tiny(builtins: tuple[str, ...], offered: tuple[str, ...] | None, use: str, tiny_is_t2v: bool) -> str:
    """``tiny`` for ``t2v_tiny`` where the caller says its ``tiny`` is txt2vid's (txt2vid; edit and
    upscale --refine, whose ``tiny`` is the flow model beside ``tiny-svd``), else a one-line
    CheckpointError saying what it is (img2vid's ``tiny`` is SVD's, animate's Wan-Animate's): it
    was "not found", though ``video info t2v_tiny`` names it."""
    if tiny_is_t2v and "tiny" in builtins:
        return "tiny"
    takes = "an SVD model" if "tiny-svd" in builtins else "another kind of model"
    raise CheckpointError(f"{T2V_TINY} is txt2vid's built-in tiny (video txt2vid --model tiny): this {use} takes "
                          f"{takes}; its built-in names: {', '.join(offered or builtins)}")


def builtin_prefix_name(value: str, builtins: tuple[str, ...]) -> str | None:
    """``NAME`` of a ``builtin:NAME`` value, None for a value without the prefix: the one
    reading of the prefix, for the CLI and the ComfyUI loader alike. A ``NAME`` not among
    ``builtins`` is a one-line :class:`CheckpointError` listing them."""
    if not str(value).startswith(BUILTIN_PREFIX):
        return None
    name = str(value)[len(BUILTIN_PREFIX):]
    if name not in builtins:
        raise CheckpointError(f"{value}: no built-in model {name!r}; the built-in names are {', '.join(builtins)}")
    return name


def _published_or_builtin(name: str, kind: str, models_dir: str | Path | None, extra_configs: list[str | Path],
                          use: str) -> str:
    """The user's model named exactly ``name`` (a :data:`PUBLISHED_BUILTINS` name) at the top of
    a search folder, with a note, else ``name`` (the built-in): not found silently, any other
    failure with a one-line warning that names the way to each model."""
    import sys

    hint = f"{use} {BUILTIN_PREFIX}{name}"
    try:
        folder = ModelsFolder(models_dir, extra_configs=extra_configs)
        kinds = (kind, "diffusion_models") if canonical_kind(kind) == "checkpoints" else (kind,)
        found = folder.find(name, kinds, top_level=True)
    except NameNotFound:
        return name
    except (CheckpointError, OSError) as e:
        warnings.warn(f"{name!r} is the built-in random-weight model, as looking for a model of yours failed: "
                      f"{_one_line(e)} (a path loads yours; {hint} is the built-in without this warning)",
                      stacklevel=2)
        return name
    print(f"note: {name!r} is {found} from the models folder, not the built-in random-weight {name!r} "
          f"({hint} for that)", file=sys.stderr)
    return str(found)
