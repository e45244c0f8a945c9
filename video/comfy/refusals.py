"""The loader's one-line refusals: a model no node of this pack runs (an image checkpoint, with
the ComfyUI node that loads it), or a part of a runnable model saved alone (a UNet, a Wan
transformer file), with the whole model to load instead. Read from configs and headers only."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from video.comfy.kinds import PARTS, RUNS, SVD_KINDS, WAN_REPOS, WHOLE
from video.models.sniff import has_safetensors_header
from video.models.svd import CheckpointError

# Header keys of the image models people keep in checkpoints/, for the loader's refusal.
IMAGE_FAMILIES = (("double_blocks.", "Flux"), ("joint_blocks.", "Stable Diffusion 3"),
                  ("conditioner.embedders.", "SDXL"), ("cond_stage_model.", "Stable Diffusion 1.x/2.x"),
                  ("input_blocks.", "a Stable Diffusion UNet"))
# Keys of networks that share those markers but are not image models: a ControlNet in ldm's /
# ComfyUI's layout (SD's input_blocks plus zero_convs and input_hint_block) and HunyuanVideo's
# transformer (Flux's double_blocks plus its token refiner).
NOT_IMAGE_MODELS = ("zero_convs.", "input_hint_block.", "txt_in.individual_token_refiner.")


def image_family(keys: list[str]) -> str | None:
    """Which image model a checkpoint's keys are (:data:`IMAGE_FAMILIES`, ComfyUI's
    ``model.diffusion_model.`` prefix ignored), or None; None too for the ControlNets and video
    transformers that share their markers (:data:`NOT_IMAGE_MODELS`), and for a UNet with
    temporal layers (``time_stack`` / ``time_mix``: SVD's, which has SD's ``input_blocks`` names:
    its UNet saved alone was "an image model (a Stable Diffusion UNet)" here)."""
    bare = [k.removeprefix("model.diffusion_model.") for k in keys]
    if any(k.startswith(NOT_IMAGE_MODELS) or "time_stack" in k or "time_mix" in k for k in bare):
        return None
    for marker, family in IMAGE_FAMILIES:
        if any(k.startswith(marker) for k in bare):
            return family
    return None


def unsupported_message(path: Path, kind: str, detail: str) -> str:
    """The loader's one line for a model no node of this pack runs: what it was detected as,
    and what the pack runs."""
    family = None
    if path.is_file() and has_safetensors_header(path):
        from video.models.inspect import safetensors_shapes

        try:
            family = image_family(list(safetensors_shapes(path)[0]))
        except Exception:
            family = None
    what = f"an image model ({family}); load it with ComfyUI's Load Checkpoint" if family else f"{kind} ({detail})"
    return f"{path.name}: detected as {what}. This node pack runs {RUNS}."


def download_hint(repo: str) -> str:
    """How to get the Hugging Face repository ``repo`` where this loader finds it."""
    return (f"download the whole repository (e.g. `huggingface-cli download {repo} --local-dir "
            f"models/checkpoints/{repo.split('/')[1]}`) into ComfyUI's models/checkpoints/ and pick that folder")


def single_file_message(path: Path, kind: str) -> str:
    """A Wan transformer saved alone (ComfyUI's diffusion_models/ layout): the pipeline's own
    message, plus what to download and where to put it for this loader."""
    from video.models.wan import SINGLE_FILE

    repo = WAN_REPOS.get(kind, WAN_REPOS["wan_t2v"])
    return SINGLE_FILE.format(p=path) + ". For this loader " + download_hint(repo)


def part_message(path: Path, kind: str) -> str:
    """The loader's one line for a part of a ``kind`` model saved without the rest of its
    pipeline (:data:`PARTS`), and the whole model to load instead (:data:`WHOLE`)."""
    what = f"{PARTS[kind]} saved alone"
    if kind in SVD_KINDS and path.is_dir() and (path / "model_index.json").is_file():
        what = "an SVD diffusers folder without all of unet/, vae/ and image_encoder/"
    whole = WHOLE[kind]
    if kind in WAN_REPOS:
        whole += f" ({WAN_REPOS[kind]}): {download_hint(WAN_REPOS[kind])}"
    return f"{path}: {what}, not a whole pipeline: load {whole}"  # the path: a part folder is often transformer/


@dataclass(frozen=True)
class Refusal:
    """Why no node runs a model of a kind some node runs: ``line``, the loader's one line;
    ``part``: a part saved alone (listed, so that the line says which whole model to get) rather
    than a whole model no node runs (left out of the drop-down)."""

    line: str
    part: bool


def refusal(path: Path, kind: str) -> Refusal | None:
    """Why the model at ``path``, detected as ``kind`` (one of :data:`RUNNABLE_KINDS`), is not a
    whole pipeline a node runs, or None when one runs it; read from configs and headers only,
    by the rules the pipelines apply (:func:`video.models.inspect.whole_folder` and
    :func:`~video.models.inspect.wan_folder_refusal`, as ``video info`` says them): the nodes
    built it only at the sampling node, after the user had wired a whole graph."""
    from video.models.inspect import wan_folder_refusal, whole_folder

    if path.is_file():
        return _file_refusal(path, kind)
    if not whole_folder(path, kind):
        return Refusal(part_message(path, kind), part=True)
    reason = wan_folder_refusal(path, kind)
    return None if reason is None else Refusal(f"{path.name}: {reason}. This node pack runs {RUNS}.", part=False)


def _file_refusal(path: Path, kind: str) -> Refusal | None:
    """A single file: only an SVD checkpoint in sgm's layout runs (as image-to-video reads it:
    :func:`video.models.svd.detect_layout`, then :func:`video.models.sgm.load_sgm_checkpoint`'s
    key checks); a Wan or DiT transformer, or an SVD UNet in diffusers' keys, is a part."""
    from video.models.sgm import (
        IMAGE_DECODER_NOTE,
        absent_message,
        absent_parts,
        has_image_decoder,
        is_sgm_svd,
        unwrapped,
    )
    from video.models.svd import detect_layout

    if kind.startswith("wan_"):
        return Refusal(single_file_message(path, kind), part=True)
    if kind not in SVD_KINDS:  # text-to-video takes folders only
        return Refusal(part_message(path, kind), part=True)
    try:
        detect_layout(path)  # a pickle (or a safetensors file under another name): its own one line
    except CheckpointError as e:
        return Refusal(str(e), part=False)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        keys = unwrapped(f.keys())  # a lightning state_dict saved as is: its keys under state_dict.
    if not is_sgm_svd(keys):
        return Refusal(part_message(path, kind), part=True)
    if has_image_decoder(keys):
        return Refusal(f"{path.name}: an SVD {IMAGE_DECODER_NOTE}", part=False)
    gaps = absent_parts(keys)  # a ComfyUI checkpoint save (no conditioner.embedders.3): listed, with why
    return Refusal(absent_message(path, gaps), part=True) if gaps else None
