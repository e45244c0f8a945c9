"""Every weight file a model folder's loader will read, checked from its header before any part
loads, for every folder loader (SVD's diffusers folders, Wan's, our text-to-video layout).

Why: a damaged part was found only when its turn to load came, after the parts before it had
loaded (tens of GB for Wan 14B), and then as the library's "Unable to load weights from
checkpoint file", where ``video info`` names the file and says what is wrong with it. The
refusal here says it in ``video info``'s words (:func:`video.models.svd.damaged_safetensors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from video.models.svd import PICKLED_SAFETENSORS, CheckpointError, damaged_safetensors

PICKLED_FILE = "pickled checkpoints are not loaded; convert it to .safetensors"  # --model's words for one


def pickle_refusal(path: Path) -> str | None:
    """``--model``'s one line for the file ``path`` when it is pickled (by its bytes, or a
    pickle's suffix and opcodes: :func:`video.models.sniff.is_pickled`; never unpickled), which
    no loader here reads: loading a pickle can run code. None for any other file. ``init_from``
    and the ComfyUI loader said "no .safetensors found" or "detected as pytorch (not opened)"."""
    from video.models.sniff import is_pickled
    from video.models.svd import is_safetensors_name

    if not path.is_file() or not is_pickled(path):
        return None
    return f"{path}: {PICKLED_SAFETENSORS if is_safetensors_name(path) else PICKLED_FILE}"


def missing_weights(folder: Path, rel: str) -> CheckpointError:
    """The one line for ``folder``'s weight file ``rel`` that is not there; where its part holds
    a pickled file (a ``model.bin`` in place of ``model.safetensors``), that file is named and
    refused, as :func:`video.models.components.require_safetensors` names one in a diffusers
    part: "is missing" alone sent the user looking for weights they had, in a form not loaded."""
    from video.models.sniff import is_pickled

    part, stem = (folder / rel).parent, Path(rel).stem
    try:
        pickled = sorted((f for f in part.iterdir() if f.is_file() and is_pickled(f)),
                         key=lambda f: (f.stem != stem, f.name))
    except OSError:
        pickled = []
    note = (f"; {pickled[0].relative_to(folder).as_posix()} is there, pickled: not loaded; convert it to "
            ".safetensors" if pickled else "")
    return CheckpointError(f"{folder}: {rel} is missing{note}")


def file_problem(path: Path) -> CheckpointError | None:
    """The one-line error for the safetensors file ``path`` that is pickled under that name,
    holds no weights (empty, a Git LFS pointer) or whose header safetensors does not accept (cut
    short, not JSON, not covering the file); None where it opens. Headers only: opening maps the
    file and reads its header, no tensor data. The words are ``video info``'s for the same file
    (:func:`video.models.inspect.safetensors_shapes` opens it the same way)."""
    from safetensors import SafetensorError, safe_open

    from video.models.sniff import looks_pickled

    if looks_pickled(path):
        return CheckpointError(f"{path}: {PICKLED_SAFETENSORS}")
    try:
        with safe_open(str(path), framework="pt"):
            pass
    except SafetensorError as e:
        return damaged_safetensors(path, e)
    return None


def check_parts(folder: Path, parts: Sequence[str], variant: str | None = None,
                unconfigured: Sequence[str] = ()) -> None:
    """One line for the first of ``parts`` (subfolders of ``folder``) without .safetensors
    weights or its ``config.json`` (but ``unconfigured`` ones: our text-to-video transformer's
    settings are in ``video_pipeline.yaml``), then for the first shard an index lists that is not there, then for the first
    weight file with a :func:`file_problem`; each part's variant as loading picks it
    (:func:`video.models.components.pick_variant`). Run before any part loads."""
    from video.models.components import (
        absent_shards,
        pick_variant,
        require_config,
        require_safetensors,
        weight_files,
    )

    for sub in parts:
        require_safetensors(folder / sub)
        if sub not in unconfigured:  # a download of the weights alone: before the parts ahead of it load
            require_config(folder, sub)
    for sub in parts:
        v = pick_variant(folder / sub, variant)
        absent = absent_shards(folder / sub, v)
        if absent:
            raise CheckpointError(f"{folder}: {sub}/{absent[0]} is listed in {sub}/'s shard index but not there: "
                                  "the download is incomplete")
        for f in weight_files(folder / sub, v):
            if (problem := file_problem(f)) is not None:
                raise problem


__all__ = ["PICKLED_FILE", "check_parts", "file_problem", "missing_weights", "pickle_refusal"]
