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


__all__ = ["check_parts", "file_problem"]
