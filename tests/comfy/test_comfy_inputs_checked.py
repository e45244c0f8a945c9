"""Node inputs that gave a raw error, or none, now give one line naming the input:

- a MASK that is not a tensor (a LATENT dict linked to it) or an empty batch, as an IMAGE is checked;
- a seed outside 0 .. 2**64-1 (the seed widgets' range, ComfyUI's KSampler's and torch's): it was
  wrapped modulo 2**63 without a word (a linked INT or ``run_prompt`` skips the widget's range),
  and is now refused before the model loads; inside it, the seed goes to torch as the CLI's
  ``--seed`` does;
- the loader's ``lora_strength`` NaN, refused by the loader, not after the sampling node's load;
- Write Video's ``filename_prefix`` tokens of ComfyUI's save nodes (``%year%``, ``%width%``, ...);
- Curate's folder pasted in quotes or starting with ``~``.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import torch

from video.comfy import functions as F
from video.comfy.nodes import NODE_CLASS_MAPPINGS
from video.comfy.workflow import run_prompt

NEVER_LOADS = F.VideoModel("/nonexistent/model", "dit_t2v", "not a folder")  # any load fails


@pytest.fixture(scope="module")
def tiny_flow() -> F.VideoModel:
    return F.load_video_model("tiny")


def test_a_mask_of_another_type_or_empty_is_one_line(tiny_flow):
    video = torch.rand(3, 32, 32, 3)
    latent = {"samples": torch.rand(1, 4, 4, 4)}
    with pytest.raises(F.InputError, match="^mask: expected a ComfyUI MASK \\(B, H, W\\) tensor; got dict$"):
        F.inpaint_video(tiny_flow, video, latent, steps=1)
    with pytest.raises(F.InputError, match="^mask: the MASK batch is empty \\(0 frames\\)$"):
        F.inpaint_video(tiny_flow, video, torch.zeros(0, 32, 32), steps=1)
    assert "editor" not in tiny_flow._cache and "txt2vid" not in tiny_flow._cache  # refused before any build
    pose = torch.rand(5, 16, 16, 3)
    kw = dict(image=pose[:1], pose_video=pose, face_video=pose, mode="replace", background_video=pose)
    animate = F.VideoModel("/nonexistent/animate", "wan_animate", "not a folder")
    with pytest.raises(F.InputError, match="^mask: expected a ComfyUI MASK"):
        F.animate_video(animate, **kw, mask=latent)
    with pytest.raises(F.InputError, match="^mask: the MASK batch is empty"):
        F.animate_video(animate, **kw, mask=torch.zeros(0, 16, 16))


def test_seeds_outside_the_widgets_range_are_refused_before_the_load(tiny_flow):
    assert NODE_CLASS_MAPPINGS["VideoPipelineTextToVideo"].INPUT_TYPES()["required"]["seed"][1]["max"] == 2**64 - 1
    image = torch.rand(1, 64, 64, 3)
    for seed in (2**64, -1):
        message = f"^seed must be a whole number from 0 to {2**64 - 1}; got {seed}$"
        with pytest.raises(F.InputError, match=message):
            F.text_to_video(NEVER_LOADS, "a kite", seed=seed)
        with pytest.raises(F.InputError, match=message):
            F.image_to_video(F.VideoModel("/nonexistent/svd", "svd", "not a folder"), image, seed=seed)
        with pytest.raises(F.InputError, match=message):
            F.inpaint_video(NEVER_LOADS, image, seed=seed)
    prompt = {"1": {"class_type": "VideoPipelineModelLoader",
                    "inputs": {"ckpt_name": "tiny", "lora_name": "none", "lora_strength": 1.0}},
              "2": {"class_type": "VideoPipelineTextToVideo",
                    "inputs": {"model": ["1", 0], "prompt": "a kite", "negative_prompt": "", "frames": 1, "width": 16,
                               "height": 16, "steps": 1, "guidance_scale": 1.0, "seed": 2**64 + 3}}}
    with pytest.raises(RuntimeError, match="node 2 .* failed: seed must be a whole number from 0 to"):
        run_prompt(prompt)
    # the top of the range renders, with torch's generator seeded as the CLI's --seed seeds it
    high = F.text_to_video(tiny_flow, "a kite", seed=2**64 - 1, frames=1, width=16, height=16, steps=1,
                           guidance_scale=1.0)
    direct = tiny_flow.txt2vid()("a kite", num_frames=1, height=16, width=16, num_inference_steps=1, guidance_scale=1.0,
                                 generator=torch.Generator().manual_seed(2**64 - 1))
    assert torch.equal(high, F.frames_to_comfy(direct))


def test_the_loader_refuses_a_nan_lora_strength(tmp_path):
    from video.models.lora import LoraPart, adaptable_layers, save_lora
    from video.runtime.txt2vid import build_tiny

    layers = adaptable_layers(build_tiny(0).transformer)
    name = next(n for n in layers if n.endswith("attn.qkv"))
    w = layers[name].weight
    save_lora({name: LoraPart(torch.ones(2, w.shape[1]), torch.ones(w.shape[0], 2), 2.0)},
              tmp_path / "loras" / "style.safetensors", "peft", prefix="transformer")
    for bad in (float("nan"), float("inf")):
        with pytest.raises(F.InputError, match=f"^lora_strength must be a finite number; got {bad}$"):
            F.load_video_model("tiny", tmp_path, lora="style", lora_strength=bad)
    assert F.load_video_model("tiny", tmp_path, lora="style", lora_strength=0.5).loras[0][1] == 0.5


def test_write_video_expands_comfyuis_filename_tokens(tmp_path, monkeypatch):
    fixed = time.struct_time((2024, 3, 5, 7, 8, 9, 1, 65, 0))
    monkeypatch.setattr(time, "localtime", lambda *a: fixed)
    frames = torch.rand(2, 16, 24, 3)
    out = F.write_video_file(frames, 8.0, "%year%-%month%-%day%/clip_%width%x%height%_%hour%%minute%%second%",
                             output_dir=tmp_path)
    path = tmp_path / "2024-03-05" / "clip_24x16_070809_00001_.mp4"
    assert out["result"] == (str(path),) and path.is_file()
    assert out["ui"]["images"][0] == {"filename": path.name, "subfolder": "2024-03-05", "type": "output"}
    assert F.filename_tokens("plain/name") == "plain/name"
    assert F.filename_tokens("%width%_%unknown%", 3, 4) == "3_%unknown%"  # as ComfyUI: other text is kept


@pytest.fixture
def clips(tmp_path) -> Path:
    from video.media import ffmpeg_exe

    folder = tmp_path / "clips"
    folder.mkdir()
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "color=red:size=64x48:rate=10:duration=1", "-pix_fmt", "yuv420p", str(folder / "a.mp4")],
                   check=True)
    return folder


def test_curate_folder_in_quotes_or_under_the_home_folder(clips, monkeypatch):
    from video.comfy.curate import curate_folder, folder_fingerprint

    plain, _ = curate_folder(str(clips), "quick", "json")
    monkeypatch.setenv("HOME", str(clips.parent))
    for text in (f'"{clips}"', f"'{clips}'", f'  "{clips}" ', "~/clips", '"~/clips"'):
        assert curate_folder(text, "quick", "json")[0] == plain, text
        assert folder_fingerprint(text) == folder_fingerprint(str(clips)), text
    with pytest.raises(ValueError, match="folder is empty"):
        curate_folder('""', "quick")
