"""What a file in sgm's key layout is, for ``video models``, ``video info`` and the ComfyUI
loader's refusals: an SVD checkpoint (under a container prefix too), with the networks it lacks
and the frame count it is read with, or its UNet saved alone. Read from the header; the loader
(:func:`video.models.sgm.load_sgm_checkpoint`) applies the same rules, so what these call
runnable loads and what they call incomplete is refused for the same part."""

from __future__ import annotations

from pathlib import Path

from video.models.sgm import (
    IMAGE_DECODER_NOTE,
    UNET,
    absent_parts,
    frames_from_metadata,
    has_image_decoder,
    is_sgm_svd,
    wrapper_prefix,
    xt_by_name,
)

# Key prefixes of the networks in an sgm SVD checkpoint, for `video info`'s parameter counts.
SGM_PARTS = {
    "model.diffusion_model.": "unet",
    "first_stage_model.": "vae",
    "conditioner.embedders.0.": "image_encoder",
    "conditioner.embedders.3.": "conditioning_vae_encoder",
}
UNET_ALONE = ("SVD UNet alone (sgm keys, no VAE or image encoder): give the whole checkpoint (svd.safetensors, "
              "svd_xt.safetensors) or a diffusers folder")
UNSTATED = "SVD or SVD-XT (14 or 25 frames: the file does not say; read as SVD unless --model-config svd_xt)"


def _bare(shapes) -> dict:
    """``shapes`` (or keys) without their container prefix (:func:`~video.models.sgm.wrapper_prefix`)."""
    prefix = wrapper_prefix(shapes)
    return {k[len(prefix):]: (shapes[k] if isinstance(shapes, dict) else None) for k in shapes if k.startswith(prefix)}


def is_svd_unet_alone(keys) -> bool:
    """A UNet with temporal layers in sgm's names and no VAE: ComfyUI's "Save Model"
    (``model.diffusion_model.*`` only) or a ``diffusion_models/`` file (bare names). It was
    "unknown" to `video info` and "a Stable Diffusion UNet" to the ComfyUI loader."""
    bare = _bare(keys)
    return not is_sgm_svd(bare) and any(k.removeprefix(UNET).startswith(("input_blocks.", "middle_block."))
                                        and "time_stack" in k for k in bare)


def classify_sgm(shapes, meta: dict, name: str = "") -> dict | None:
    """``{"kind", "detail"[, "missing"]}`` of a state dict in sgm's layout, else None. An SVD
    checkpoint is ``svd_xt`` where it declares 25 frames, or declares none and ``name`` is one
    of Stability's SVD-XT names (:func:`~video.models.sgm.xt_by_name`), as the loader reads it;
    ``missing`` (and the detail's end) names the networks the loader needs and it lacks."""
    from video.models.components import MISSING
    from video.models.detect import _svd_by_frames

    prefix = wrapper_prefix(shapes)
    keys = _bare(shapes)
    if not is_sgm_svd(keys):
        return {"kind": "svd", "detail": UNET_ALONE} if is_svd_unet_alone(keys) else None
    where = "single file (sgm keys" + (f" under {prefix!r})" if prefix else ")")
    declared = frames_from_metadata(meta)
    if declared is None and xt_by_name(name):
        found = {"kind": "svd_xt", "detail": f"SVD-XT (25 frames) by its file name (the file does not say), {where}"}
    else:
        found = {"kind": "svd", "detail": f"{UNSTATED}, {where}"} if declared is None else _svd_by_frames(declared, where)
    if has_image_decoder(keys):
        found["detail"] += f", {IMAGE_DECODER_NOTE}"
    gaps = absent_parts(keys)
    if gaps:
        found["missing"] = ", ".join(gaps)
        found["detail"] += MISSING + found["missing"]
    return found


def describe_sgm(p: Path, shapes: dict, meta: dict, dtypes: set[str], found: dict) -> dict | None:
    """``video info`` on an sgm SVD checkpoint (``found``: its :func:`classify_sgm`), or None for
    anything else: parameters per network, the frames it is read with, and the commands that run
    it; where it lacks a network, a ``missing`` line instead of ``run_with`` (the loader refuses
    it), as for a folder; the image-decoder variant, neither."""
    from video.models.inspect import _command_lines, _kind_and_gaps, _numel

    prefix = wrapper_prefix(shapes)
    keys = _bare(shapes)
    if not is_sgm_svd(keys):
        return None
    params = {name: 0 for name in SGM_PARTS.values()}
    other = 0
    for k, s in keys.items():
        part = next((name for pre, name in SGM_PARTS.items() if k.startswith(pre)), None)
        if part is None:
            other += _numel(s)
        else:
            params[part] += _numel(s)
    other += sum(_numel(s) for k, s in shapes.items() if not k.startswith(prefix))
    if other:
        params["other"] = other
    frames = frames_from_metadata(meta) or (25 if found["kind"] == "svd_xt" else "14 or 25")
    info = {"model": str(p), "layout": "single file (sgm keys)", **_kind_and_gaps(found), "frames": frames,
            "dtypes": ",".join(sorted(dtypes)), "parameters": params}
    if has_image_decoder(keys) or "missing" in info:  # load_svd refuses it (the detail says why)
        return info
    return {**info, "run_with": "; ".join(_command_lines(p, found["kind"]))}
