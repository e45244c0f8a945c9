"""Review 22 of the node pack.

A Video LoRA node whose strength changed loaded the whole model from disk again (1, 2, 3 loads
for strengths 0.8, 0.9, 1.0), and so did the loader when only a strength it ignores (``lora_name``
none) changed: the LoRA-free pipeline of the same weights is now built once per process while a
node's model holds it, and a LoRA copy copies only the module its LoRA changes. The loads are
counted around the real ``from_pretrained``; the frames are checked against a pipeline loaded
from disk with the LoRA merged, which shares nothing.

Image to Video's 0 size, frames and fps are the model's, as ``video img2vid`` without those
flags (the size was the input image's; frames and fps SVD's 14 and 7 whatever the model).

The loader's drop-down leaves out files no run loads (an ``.onnx``, a ``.safetensors`` of random
bytes), and a name not found is answered with what the drop-down lists."""

from __future__ import annotations

import gc
import os
import weakref
from pathlib import Path

import numpy as np
import pytest
import torch
from dit_lora_folder import render_merged  # tests/comfy is on sys.path under pytest
from safetensors.torch import save_file

import video.comfy.nodes
from video.comfy import functions as F
from video.comfy.models import BUILTIN_LABELS
from video.comfy.nodes import NODES
from video.models.folder import ModelsFolder, NameNotFound

SPECS = {s.node_id: s for s in NODES}
T2V = dict(prompt="a red kite", negative_prompt="", frames=3, width=16, height=16, steps=2, guidance_scale=5.0,
           seed=7)
WAN_KEYS = ["patch_embedding.weight", "blocks.0.self_attn.q.weight", "head.head.weight"]


def run(node_id: str, **inputs) -> tuple:
    """A node's outputs, called as ComfyUI calls it (outside ComfyUI the models folder is $VIDEO_MODELS)."""
    return SPECS[node_id].call(**inputs)[0]


def _touch(path: Path) -> None:
    """The same bytes with a later modification time: a model retrained under the same name."""
    path.write_bytes(path.read_bytes())
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


@pytest.fixture
def loads(monkeypatch) -> list[str]:
    """The pipelines loaded from disk from now on, by class: the real ``from_pretrained``, counted."""
    from video.runtime.img2vid import ImageToVideo
    from video.runtime.txt2vid import TextToVideo

    calls: list[str] = []
    for cls in (TextToVideo, ImageToVideo):
        real = cls.from_pretrained.__func__

        def counted(c, *args, _real=real, **kw):
            calls.append(c.__name__)
            return _real(c, *args, **kw)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(counted))
    return calls


@pytest.fixture
def dit_models(tmp_path, monkeypatch) -> Path:
    """A models folder of this test's own (no other test's pipeline of it can be alive): the tiny
    DiT saved as checkpoints/dit, a LoRA for it in loras/; $VIDEO_MODELS points at it."""
    from dit_lora_folder import write_dit_and_lora

    write_dit_and_lora(tmp_path)
    monkeypatch.setenv("VIDEO_MODELS", str(tmp_path))
    return tmp_path


def _from_disk(folder: Path, loras: list[tuple[Path, float]]) -> torch.Tensor:
    """The clip of ``folder`` loaded whole from disk with ``loras`` merged, called as the node calls it."""
    return render_merged(folder, loras, T2V)


def test_a_changed_lora_strength_loads_nothing_from_disk(dit_models, loads):
    (base,) = run("VideoPipelineModelLoader", ckpt_name="dit", lora_name="none", lora_strength=1.0)
    runs = []  # every LoRA model kept alive, as a donor was before
    for strength in (0.8, 0.9, 1.0):
        (lora,) = run("VideoPipelineLora", model=base, lora_name="style.safetensors", strength=strength)
        frames, _ = run("VideoPipelineTextToVideo", model=lora, **T2V)
        runs.append((lora, frames, len(loads)))
    assert [n for _, _, n in runs] == [1, 1, 1], loads
    pipes = [m.txt2vid().models for m, _, _ in runs]
    assert len({id(p.text_encoder) for p in pipes}) == 1 and len({id(p.latents) for p in pipes}) == 1
    assert len({id(p.transformer) for p in pipes}) == 3  # each its own copy, its LoRA merged
    lora_file = dit_models / "loras" / "style.safetensors"
    assert torch.equal(runs[1][1], _from_disk(dit_models / "checkpoints" / "dit", [(lora_file, 0.9)]))
    # the loaded model's own pipeline: the LoRA-free one the copies were made from, its weights as loaded
    assert base.txt2vid().models.text_encoder is pipes[0].text_encoder and len(loads) == 2  # + the reference
    assert torch.equal(run("VideoPipelineTextToVideo", model=base, **T2V)[0],
                       _from_disk(dit_models / "checkpoints" / "dit", []))


def test_the_loader_run_again_for_a_strength_it_ignores_loads_once(dit_models, loads):
    first, second = (run("VideoPipelineModelLoader", ckpt_name="dit", lora_name="none", lora_strength=s)[0]
                     for s in (1.0, 0.5))
    a, _ = run("VideoPipelineTextToVideo", model=first, **T2V)
    b, _ = run("VideoPipelineTextToVideo", model=second, **T2V)
    assert loads == ["TextToVideo"] and second.txt2vid() is first.txt2vid() and torch.equal(a, b)
    # the loader's own LoRA widget builds on the same parts too
    (widget,) = run("VideoPipelineModelLoader", ckpt_name="dit", lora_name="style.safetensors", lora_strength=0.9)
    run("VideoPipelineTextToVideo", model=widget, **T2V)
    assert loads == ["TextToVideo"] and widget.txt2vid().models.text_encoder is first.txt2vid().models.text_encoder


def test_a_model_rewritten_under_the_same_name_loads_again(tmp_path, tiny_diffusers_dir, loads, monkeypatch):
    import shutil

    shutil.copytree(tiny_diffusers_dir, tmp_path / "checkpoints" / "svd")
    monkeypatch.setenv("VIDEO_MODELS", str(tmp_path))
    image = torch.rand(1, 32, 32, 3, generator=torch.Generator().manual_seed(0))
    kw = dict(frames=2, steps=1, seed=1, width=64, height=64)
    old = run("VideoPipelineModelLoader", ckpt_name="svd", lora_name="none", lora_strength=1.0)[0]
    run("VideoPipelineImageToVideo", model=old, image=image, **kw)
    again = run("VideoPipelineModelLoader", ckpt_name="svd", lora_name="none", lora_strength=0.5)[0]
    assert again.img2vid() is old.img2vid() and loads == ["ImageToVideo"]
    _touch(next((tmp_path / "checkpoints" / "svd" / "unet").glob("*.safetensors")))
    new = run("VideoPipelineModelLoader", ckpt_name="svd", lora_name="none", lora_strength=1.0)[0]
    run("VideoPipelineImageToVideo", model=new, image=image, **kw)
    assert loads == ["ImageToVideo"] * 2 and new.img2vid() is not old.img2vid()  # the old model is still held


def test_a_pipeline_no_node_holds_is_freed(dit_models, loads):
    model = run("VideoPipelineModelLoader", ckpt_name="dit", lora_name="none", lora_strength=1.0)[0]
    lora = run("VideoPipelineLora", model=model, lora_name="style.safetensors", strength=0.8)[0]
    run("VideoPipelineTextToVideo", model=lora, **T2V)
    plain, merged = weakref.ref(model.txt2vid()), weakref.ref(lora.txt2vid())
    del model
    gc.collect()
    assert plain() is not None  # the LoRA copy still needs its LoRA-free parts
    del lora
    gc.collect()
    assert plain() is None and merged() is None
    model = run("VideoPipelineModelLoader", ckpt_name="dit", lora_name="none", lora_strength=1.0)[0]
    run("VideoPipelineTextToVideo", model=model, **T2V)
    assert loads == ["TextToVideo"] * 2


# --- Image to Video: 0 is the model's, as on the command line ---------------------------------

@pytest.fixture
def trained_svd(tmp_path, tiny_models) -> Path:
    """The tiny SVD as ``video train`` exports it: its sampling defaults say the trained clips'
    frames, size and fps (:func:`video.training.tasks.trained_sampling`), none of them SVD's."""
    import dataclasses

    from video.models.svd import save_diffusers_folder
    from video.training.tasks import trained_sampling

    sampling = trained_sampling(tiny_models.config.sampling, (3, 64, 96), 12.0)
    config = dataclasses.replace(tiny_models.config, sampling=sampling)
    return save_diffusers_folder(dataclasses.replace(tiny_models, config=config), tmp_path / "checkpoints" / "trained")


def test_image_to_video_zeros_are_what_video_img2vid_renders(trained_svd, cli, tmp_path, monkeypatch):
    from PIL import Image

    from video.media import probe_video

    photo = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)  # 640x480, another aspect
    Image.fromarray(photo).save(tmp_path / "photo.png")
    out = tmp_path / "cli.mp4"
    done = cli("img2vid", "--model", trained_svd, "--image", tmp_path / "photo.png", "--steps", "1", "--output", out)
    assert done.returncode == 0, done.stderr
    want = probe_video(out)
    assert (want["num_frames"], want["width"], want["height"], want["fps"]) == (3, 96, 64, 12.0)
    monkeypatch.setenv("VIDEO_MODELS", str(tmp_path))
    spec = SPECS["VideoPipelineImageToVideo"]
    defaults = {p.name: p.default for p in spec.inputs if p.default is not None}
    assert {k: defaults[k] for k in ("frames", "fps", "width", "height")} == dict(frames=0, fps=0, width=0, height=0)
    model = run("VideoPipelineModelLoader", ckpt_name="trained", lora_name="none", lora_strength=1.0)[0]
    image = F.frames_to_comfy(photo[None])
    frames, fps = run("VideoPipelineImageToVideo", model=model, image=image, **{**defaults, "steps": 1})
    assert tuple(frames.shape) == (3, 64, 96, 3) and fps == 12.0
    # the pipeline left to its own defaults, as the CLI leaves it: the same frames
    direct = model.img2vid()(photo, num_inference_steps=1, motion_bucket_id=defaults["motion_bucket_id"],
                             noise_aug_strength=defaults["noise_aug_strength"], generator=torch.Generator().manual_seed(0))
    assert torch.equal(frames, F.frames_to_comfy(direct))


def test_image_to_video_zero_size_of_the_builtin_is_its_configs(tiny_models, caplog):
    import logging

    s = tiny_models.config.sampling
    assert (s.width, s.height) == (192, 128)
    model = F.load_video_model("tiny-svd")
    with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
        frames = F.image_to_video(model, torch.rand(1, 480, 640, 3), frames=2, steps=1)
        assert tuple(frames.shape) == (2, 128, 192, 3)  # not the image's 480x640
        said = [r.getMessage() for r in caplog.records]
        assert said == ["Image to Video: the image is 640x480 and the output 192x128 (width x height), another "
                        "aspect ratio: the image is scaled to cover it and its middle cropped"]  # a saved 0 crops
        caplog.clear()
        F.image_to_video(model, torch.rand(1, 256, 384, 3), frames=2, steps=1)  # the output's aspect: no word
        assert not caplog.records
    given = F.image_to_video(model, torch.rand(1, 480, 640, 3), frames=2, steps=1, width=64)
    assert tuple(given.shape) == (2, 128, 64, 3)  # one side given: the other the model's


# --- the drop-down and the not-found line ---------------------------------------------------------

def _wan_part(path: Path) -> None:
    """A Wan transformer saved alone: listed (the loader says which whole model to get)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: torch.zeros(2, 2) for k in WAN_KEYS}, str(path))


def _folder_with_hidden_files(root: Path) -> Path:
    """checkpoints/: a listed Wan part, an ONNX-named and a safetensors-named file of random bytes,
    a pickled SD 1.5 checkpoint and an SD 1.5 safetensors; loras/: a pickled LoRA and a good one."""
    from video.models.sniff import claims_safetensors

    ck = root / "checkpoints"
    _wan_part(ck / "wan_part.safetensors")
    noise = np.random.default_rng(0).bytes(4096)
    (ck / "model.onnx").write_bytes(noise)
    (ck / "random.safetensors").write_bytes(noise)
    assert not claims_safetensors(ck / "random.safetensors")
    sd15 = {"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(2)}
    torch.save({"state_dict": sd15}, ck / "old.ckpt")
    save_file(sd15, str(ck / "sd15.safetensors"))
    (root / "loras").mkdir()
    torch.save({"x": torch.zeros(2)}, root / "loras" / "old_lora.pt")
    save_file({"lora_unet_x.lora_down.weight": torch.zeros(2, 2)}, str(root / "loras" / "kept_lora.safetensors"))
    return root


def test_files_that_always_fail_are_not_in_the_drop_down(tmp_path, monkeypatch):
    models = _folder_with_hidden_files(tmp_path)
    monkeypatch.setenv("VIDEO_MODELS", str(models))
    combo = video.comfy.nodes.NODE_CLASS_MAPPINGS["VideoPipelineModelLoader"].INPUT_TYPES()["required"]["ckpt_name"][0]
    assert combo == ["wan_part.safetensors", *BUILTIN_LABELS], combo
    for name, says in (("model.onnx", r"unrecognised file \(\.onnx\)"), ("random.safetensors", "header too large")):
        with pytest.raises(F.CheckpointError, match=says):  # what each run with it said
            F.load_video_model(name, models)


def test_a_name_not_found_offers_what_the_drop_downs_list(tmp_path, monkeypatch):
    models = _folder_with_hidden_files(tmp_path)
    monkeypatch.setenv("VIDEO_MODELS", str(models))
    with pytest.raises(NameNotFound) as caught:
        run("VideoPipelineModelLoader", ckpt_name="sd15.ckpt", lora_name="none", lora_strength=1.0)
    line = str(caught.value)
    assert "found: wan_part.safetensors" in line and "\n" not in line, line
    for hidden in ("old.ckpt", "sd15", "model.onnx", "random.safetensors"):
        assert hidden not in line.replace("'sd15.ckpt'", ""), (hidden, line)
    model = F.load_video_model("tiny")
    with pytest.raises(NameNotFound) as caught:
        run("VideoPipelineLora", model=model, lora_name="old_lora.safetensors", strength=1.0)
    assert "found: kept_lora.safetensors" in str(caught.value) and "old_lora.pt" not in str(caught.value)
    # the command line still names every file it finds
    with pytest.raises(NameNotFound, match="old.ckpt.*sd15.safetensors"):
        ModelsFolder(models).find("sd15.ckpt", ("checkpoints",))
