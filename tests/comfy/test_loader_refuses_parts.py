"""The loader refuses, in one line at load time, a model whose kind some node runs but which is
not a whole pipeline a node runs: a UNet or transformer saved alone (folder or file), a Wan 2.2
TI2V or WanVideoToVideoPipeline folder, SVD's image-decoder variant, a pickled SVD checkpoint.
Each was accepted, and failed only at the sampling node after a whole graph was wired. The
Wan reasons are `video info`'s (run_with), one rule. The drop-down lists the parts (the refusal
says which whole model to get, as for a Wan single file) and leaves out the whole models no node
runs (as a Wan image-to-video folder); every runnable layout still loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from video.comfy import models as F
from video.comfy.kinds import RUNNABLE_KINDS
from video.models.detect import detect_kind
from video.models.inspect import run_with
from video.models.svd import CheckpointError

WAN_T = ["diffusers", "WanTransformer3DModel"]
RUNS = "This node pack runs SVD / SVD-XT"


def _folder(root: Path, files: dict) -> Path:
    """``root`` with each ``{relative path: JSON object}`` written into it (configs only: the
    loader reads no weights)."""
    for rel, body in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(json.dumps(body))
    return root


def _refused(name: str, models: Path) -> str:
    with pytest.raises(CheckpointError) as e:
        F.load_video_model(name, models)
    msg = str(e.value)
    assert "\n" not in msg, msg
    return msg


PARTS = {  # name: (files, what it says, what would work)
    "wan_bare": ({"config.json": {"_class_name": "WanTransformer3DModel"}}, "a Wan transformer saved alone",
                 "load the whole Wan2.1-T2V diffusers folder (Wan-AI/Wan2.1-T2V-1.3B-Diffusers)"),
    "wan_parent": ({"transformer/config.json": {"_class_name": "WanTransformer3DModel"}},
                   "a Wan transformer saved alone",
                   "load the whole Wan2.1-T2V diffusers folder (Wan-AI/Wan2.1-T2V-1.3B-Diffusers)"),
    "vace_bare": ({"config.json": {"_class_name": "WanVACETransformer3DModel"}}, "a Wan VACE transformer saved alone",
                  "load the whole Wan2.1-VACE diffusers folder (Wan-AI/Wan2.1-VACE-1.3B-diffusers)"),
    "animate_parent": ({"transformer/config.json": {"_class_name": "WanAnimateTransformer3DModel"}},
                       "a Wan-Animate transformer saved alone",
                       "load the whole Wan2.2-Animate diffusers folder (Wan-AI/Wan2.2-Animate-14B-Diffusers)"),
    "svd_unet": ({"config.json": {"_class_name": "UNetSpatioTemporalConditionModel", "num_frames": 25}},
                 "an SVD-XT UNet saved alone", "load the whole SVD diffusers folder (unet/, vae/, image_encoder/"),
}


@pytest.mark.parametrize("name", sorted(PARTS))
def test_a_part_saved_alone_is_refused_at_load_time_and_listed(tmp_path, name):
    files, what, works = PARTS[name]
    path = _folder(tmp_path / "checkpoints" / name, files)
    assert detect_kind(path)["kind"] in RUNNABLE_KINDS  # the kind alone let it through
    msg = _refused(str(path), tmp_path)  # by its path (API prompts, scripts)
    assert msg.startswith(f"{path}: {what}, not a whole pipeline: ") and works in msg, msg
    listed = F.video_model_names(tmp_path)[0]  # a transformer/ alone is listed as NAME/transformer
    assert listed in (name, f"{name}/transformer"), listed
    assert _refused(listed, tmp_path).endswith(msg.split(": ", 1)[1])  # picked from the drop-down: the same line


WHOLE_NOT_RUN = {  # name: (model_index.json, what it says)
    "ti2v": ({"_class_name": "WanPipeline", "transformer": WAN_T, "expand_timesteps": True},
             "a Wan 2.2 TI2V folder (expand_timesteps: a timestep per latent token), which is not supported"),
    "v2v": ({"_class_name": "WanVideoToVideoPipeline", "transformer": WAN_T},
            "a WanVideoToVideoPipeline folder; text-to-video runs Wan text-to-video folders (WanPipeline)"),
}


@pytest.mark.parametrize("name", sorted(WHOLE_NOT_RUN))
def test_a_wan_folder_no_node_runs_is_refused_with_video_infos_reason_and_not_listed(tmp_path, name):
    index, said = WHOLE_NOT_RUN[name]
    path = _folder(tmp_path / "checkpoints" / name, {"model_index.json": index,
                                                     "transformer/config.json": {"_class_name": WAN_T[1]}})
    assert detect_kind(path)["kind"] == "wan_t2v"
    msg = _refused(name, tmp_path)
    assert msg == f"{name}: {said}. {RUNS}" + msg.split(RUNS, 1)[1], msg
    assert run_with(path, "wan_t2v") == f"nothing here: {said}"  # `video info`'s words: one rule
    assert F.video_model_names(tmp_path) == list(F.BUILTIN_LABELS)


def _save(path: Path, tensors: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path


def test_single_files_of_a_runnable_kind_that_no_node_runs(tmp_path):
    def z():
        return torch.zeros(2, 2)

    ck = tmp_path / "checkpoints"
    _save(ck / "dit.safetensors", {"patch_embed.weight": z(), "head_modulation": z(), "blocks.0.modulation": z()})
    _save(ck / "unet.safetensors", {"down_blocks.0.resnets.0.temporal_res_block.conv1.weight": z(),
                                    "conv_in.weight": z()})
    sgm = {"model.diffusion_model.input_blocks.1.0.time_stack.0.weight": z(),
           "first_stage_model.decoder.conv_in.weight": z()}  # a per-frame decoder: no time_stack / time_mix there
    _save(ck / "svd_image_decoder.safetensors", sgm)
    torch.save(sgm, ck / "svd.ckpt")
    for name, kind, said in (
            ("dit.safetensors", "dit_t2v", f"{ck / 'dit.safetensors'}: our DiT transformer saved alone, not a whole "
                                           "pipeline: load the whole folder our trainer exports (video_pipeline.yaml"),
            ("unet.safetensors", "svd", f"{ck / 'unet.safetensors'}: an SVD UNet saved alone, not a whole pipeline"),
            ("svd_image_decoder.safetensors", "svd", "svd_image_decoder.safetensors: an SVD image-decoder variant "
                                                     "(svd*_image_decoder"),
            ("svd.ckpt", "svd", f"{ck / 'svd.ckpt'}: pickled checkpoints are not loaded; convert it to .safetensors")):
        assert detect_kind(ck / name)["kind"] == kind, name
        assert _refused(name, tmp_path).startswith(said), name
    names = F.video_model_names(tmp_path)  # parts listed (refused at load); the pickle and the variant left out
    assert names == ["dit.safetensors", "unet.safetensors", *F.BUILTIN_LABELS], names


def test_every_runnable_layout_still_loads_and_is_listed(tmp_path, tiny_models, tiny_diffusers_dir):
    from video.models.sgm import save_sgm_checkpoint
    from video.runtime.txt2vid import build_tiny, save_t2v

    ck = tmp_path / "checkpoints"
    ck.mkdir()
    (ck / "svd-folder").symlink_to(tiny_diffusers_dir, target_is_directory=True)
    save_sgm_checkpoint(tiny_models, ck / "svd-file.safetensors")
    save_t2v(build_tiny(), ck / "ours")
    _folder(ck / "wan21", {"model_index.json": {"_class_name": "WanPipeline", "transformer": WAN_T}})
    _folder(ck / "wan22", {"model_index.json": {"_class_name": "WanPipeline", "transformer": WAN_T,
                                                "transformer_2": WAN_T, "boundary_ratio": 0.875}})
    _folder(ck / "vace", {"model_index.json": {"_class_name": "WanVACEPipeline",
                                               "transformer": ["diffusers", "WanVACETransformer3DModel"]}})
    _folder(ck / "animate", {"model_index.json": {"_class_name": "WanAnimatePipeline"}})
    kinds = {"svd-folder": "svd", "svd-file.safetensors": "svd", "ours": "dit_t2v", "wan21": "wan_t2v",
             "wan22": "wan_t2v", "vace": "wan_vace", "animate": "wan_animate"}
    for name, kind in kinds.items():
        assert F.load_video_model(name, tmp_path).kind == kind, name
    assert set(F.video_model_names(tmp_path)) == {*kinds, *F.BUILTIN_LABELS}
