"""The node pack's LoRA stack, clip rate, cache fingerprints and GIF rate, without ComfyUI (our
``NODE_CLASS_MAPPINGS`` run by :func:`video.comfy.workflow.run_prompt`):

- chained Video LoRA nodes render what the pipeline with both LoRAs merged renders (the CLI's
  repeated ``--lora``);
- Text to Video returns its clip's rate beside the frames, and Write Video's ``fps_in`` link
  writes it (the tiny DiT samples at 8 fps; the widget's 7 played it too slowly);
- the loader's and the LoRA node's ``IS_CHANGED`` change when a file is retrained under the same
  name (ComfyUI then loads it again instead of keeping the old pipeline);
- Write Video's gif above 50 fps gets no 10 ms delays (which browsers play at 100 ms), and says so.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from video.comfy import functions as F
from video.comfy.nodes import NODE_CLASS_MAPPINGS, NODES
from video.comfy.workflow import run_prompt

SPECS = {s.node_id: s for s in NODES}
T2V = {"prompt": "a red kite", "negative_prompt": "", "frames": 3, "width": 16, "height": 16, "steps": 2,
       "guidance_scale": 5.0, "seed": 7}


def _save_lora(path: Path, layers: dict, seed: int) -> None:
    """A rank-2 LoRA on one attention layer of the built-in tiny DiT (peft layout)."""
    from video.models.lora import LoraPart, save_lora

    name = [n for n in layers if n.endswith("attn.qkv")][seed % 2]
    w = layers[name].weight
    g = torch.Generator().manual_seed(seed)
    part = LoraPart(torch.randn(2, w.shape[1], generator=g), torch.randn(w.shape[0], 2, generator=g), 2.0)
    save_lora({name: part}, path, "peft", prefix="transformer")


@pytest.fixture
def models(tmp_path, monkeypatch) -> Path:
    """$VIDEO_MODELS (the nodes' models folder outside ComfyUI) with two LoRAs in loras/."""
    from video.models.lora import adaptable_layers
    from video.runtime.txt2vid import build_tiny

    layers = adaptable_layers(build_tiny(0).transformer)
    (tmp_path / "loras").mkdir()
    _save_lora(tmp_path / "loras" / "style.safetensors", layers, 0)
    _save_lora(tmp_path / "loras" / "motion.safetensors", layers, 1)
    monkeypatch.setenv("VIDEO_MODELS", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # Write Video's output folder outside ComfyUI: ./output
    return tmp_path


def _loader(lora: str = "none", strength: float = 1.0) -> dict:
    return {"class_type": "VideoPipelineModelLoader",
            "inputs": {"ckpt_name": "tiny", "lora_name": lora, "lora_strength": strength}}


def _lora(model: list, name: str, strength: float) -> dict:
    return {"class_type": "VideoPipelineLora", "inputs": {"model": model, "lora_name": name, "strength": strength}}


def _t2v(model: list) -> dict:
    return {"class_type": "VideoPipelineTextToVideo", "inputs": {"model": model, **T2V}}


def test_chained_lora_nodes_render_the_pipeline_with_both_loras_merged(models):
    from video.models.lora import apply_loras
    from video.runtime.txt2vid import TextToVideo

    assert "style.safetensors" in NODE_CLASS_MAPPINGS["VideoPipelineLora"].INPUT_TYPES()["required"]["lora_name"][0]
    prompt = {"1": _loader(), "2": _lora(["1", 0], "style", 0.7), "3": _lora(["2", 0], "motion.safetensors", -0.5),
              "4": _t2v(["3", 0]), "5": _t2v(["2", 0])}
    results = run_prompt(prompt)
    base, one, both = (results[n].outputs[0] for n in ("1", "2", "3"))
    assert base.loras == [] and one.loras == [(models / "loras" / "style.safetensors", 0.7)]  # copies, chained
    assert both.loras == [*one.loras, (models / "loras" / "motion.safetensors", -0.5)]
    assert "txt2vid" not in base._cache and one._cache is not both._cache  # each copy builds its own pipeline

    pipe = TextToVideo.from_pretrained("tiny")
    apply_loras(pipe.models.lora_target(), [(models / "loras" / "style.safetensors", 0.7),
                                            (models / "loras" / "motion.safetensors", -0.5)], merge=True)
    expected = F.frames_to_comfy(pipe(T2V["prompt"], num_frames=3, height=16, width=16, num_inference_steps=2,
                                      guidance_scale=5.0, generator=torch.Generator().manual_seed(7)))
    assert torch.equal(results["4"].outputs[0], expected)
    assert not torch.equal(results["5"].outputs[0], expected)  # one LoRA renders something else


def test_lora_node_refuses_what_no_pipeline_loads(models):
    tiny = F.load_video_model("tiny")
    assert F.add_lora(tiny, "none", 1.0) is tiny
    (models / "loras" / "old.safetensors").write_bytes(b"\x80\x04not safetensors")
    with pytest.raises(F.CheckpointError, match="old.safetensors"):
        F.add_lora(tiny, "old.safetensors", 1.0)
    with pytest.raises(F.CheckpointError, match="nope"):
        F.add_lora(tiny, "nope", 1.0)
    with pytest.raises(F.InputError, match="finite"):
        F.add_lora(tiny, "style", float("nan"))
    animate = F.VideoModel("x", "wan_animate", "d")
    with pytest.raises(F.InputError, match="LoRAs on wan_animate models are not supported"):
        F.add_lora(animate, "style", 1.0)


def test_text_to_video_returns_its_rate_and_write_video_takes_the_link(models):
    prompt = {"1": _loader(), "2": _t2v(["1", 0]),
              "3": {"class_type": "VideoPipelineWriteVideo",
                    "inputs": {"images": ["2", 0], "fps": 7.0, "filename_prefix": "t2v", "format": "mp4", "crf": 20,
                               "fps_in": ["2", 1]}}}
    results = run_prompt(prompt)
    frames, fps = results["2"].outputs
    assert fps == 8.0 == float(results["1"].outputs[0].txt2vid().config.sampling.fps)  # configs/model/t2v_tiny.yaml
    from video.media import probe_video

    info = probe_video(results["3"].outputs[0])
    assert info["fps"] == pytest.approx(8.0) and info["num_frames"] == len(frames)
    opt = NODE_CLASS_MAPPINGS["VideoPipelineWriteVideo"].INPUT_TYPES()["optional"]["fps_in"]
    assert opt[0] == "FLOAT" and opt[1]["forceInput"] is True  # a socket, no widget
    with pytest.raises(F.InputError, match="fps_in must be a finite number > 0"):
        F.write_video_file(frames, 7.0, "bad", fps_in=0.0, output_dir=models / "output")


def test_image_to_video_and_animate_return_their_rates():
    """Image to Video: its fps widget (the rate the CLI writes at); Animate: the pose video's rate
    (its optional fps, 30 by default as the CLI's fallback)."""
    tiny_svd = F.load_video_model("tiny-svd")
    i2v = SPECS["VideoPipelineImageToVideo"]
    out, _ = i2v.call(model=tiny_svd, image=torch.rand(1, 64, 64, 3), frames=2, steps=1, fps=12)
    assert [t for t, _ in i2v.outputs] == ["IMAGE", "FLOAT"] and out[1] == 12.0 and out[0].shape[0] == 2
    animate = SPECS["VideoPipelineAnimate"]
    assert [t for t, _ in animate.outputs] == ["IMAGE", "FLOAT"]
    fps = next(p for p in animate.inputs if p.name == "fps")
    assert fps.optional and fps.default == F.ANIMATE_FPS == 30.0


def _touch(path: Path) -> None:
    """Rewrite ``path`` with the same bytes and a later modification time (a retrain under the same name)."""
    data = path.read_bytes()
    path.write_bytes(data)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))


def test_loader_and_lora_node_fingerprints_follow_the_files(models, tiny_diffusers_dir):
    import shutil

    shutil.copytree(tiny_diffusers_dir, models / "checkpoints" / "svd-folder")
    loader, lora = NODE_CLASS_MAPPINGS["VideoPipelineModelLoader"], NODE_CLASS_MAPPINGS["VideoPipelineLora"]
    kw = dict(ckpt_name="svd-folder", lora_name="style.safetensors", lora_strength=1.0, dtype="auto")
    before, lora_before = loader.IS_CHANGED(**kw), lora.IS_CHANGED(lora_name="style.safetensors", strength=1.0)
    assert loader.IS_CHANGED(**kw) == before  # nothing changed: ComfyUI keeps its output
    _touch(models / "loras" / "style.safetensors")
    assert loader.IS_CHANGED(**kw) != before
    assert lora.IS_CHANGED(lora_name="style.safetensors", strength=1.0) != lora_before
    before = loader.IS_CHANGED(**kw)
    weights = next((models / "checkpoints" / "svd-folder" / "unet").glob("*.safetensors"))
    _touch(weights)  # a file inside the folder: the folder's own time stays
    assert loader.IS_CHANGED(**kw) != before
    tiny = dict(ckpt_name="tiny (random weights, for tests)", lora_name="none", lora_strength=1.0)
    constant = loader.IS_CHANGED(**tiny)  # built-ins: constant
    time.sleep(0.01)
    assert loader.IS_CHANGED(**tiny) == constant
    # a name linked from another node: ComfyUI's cache check passes None for it (raised TypeError,
    # and ComfyUI then reloaded the model on every queue)
    assert loader.IS_CHANGED(ckpt_name=None, lora_name="none", lora_strength=1.0) == ("linked", ("none",))
    assert loader.IS_CHANGED(ckpt_name="svd-folder", lora_name=None, lora_strength=1.0)[1] == ("linked",)
    assert lora.IS_CHANGED(lora_name=None, strength=1.0) == ("linked",)
    missing = loader.IS_CHANGED(ckpt_name="gone", lora_name="none", lora_strength=1.0)  # the loader says why
    assert missing[0][0] == "unresolved"


def _gif_delays(path: Path) -> list[int]:
    from PIL import Image

    im, out = Image.open(path), []
    try:
        while True:
            out.append(im.info["duration"])
            im.seek(im.tell() + 1)
    except EOFError:
        return out


def test_write_video_gif_above_50_fps_is_not_played_at_10_fps(tmp_path, caplog):
    """Write Video's fps widget goes to 120, a GIF's delays are whole centiseconds, and browsers
    play a delay of 10 ms or less as 100 ms: at 120 fps every delay was 10 ms, a clip ten times
    too slow. video.media writes such a gif at 50 fps timing; the node says so on every run."""
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.random((24, 16, 16, 3), dtype=np.float32))
    for run in range(2):  # Python shows a warning once per place; the node's console line is every time
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
            out = F.write_video_file(images, 120.0, "fast", "gif", output_dir=tmp_path)
        assert _gif_delays(Path(out["result"][0])) == [20] * 24
        assert "Write Video:" in caplog.text and "50 fps" in caplog.text, run
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="video.comfy.host"):
        slow = F.write_video_file(images, 25.0, "slow", "gif", output_dir=tmp_path)
    assert _gif_delays(Path(slow["result"][0])) == [40] * 24 and caplog.text == ""  # under the cap: as given


def test_the_loaders_own_lora_on_a_model_without_lora_support_is_refused_at_load(tmp_path):
    """The loader's lora_name on a Wan Animate / VACE model was refused only by the sampling
    node, after the whole model loaded; now at the loader, in the words the LoRA node uses."""
    import pytest

    from video.comfy.kinds import LORA_KINDS
    from video.comfy.models import load_video_model
    from video.edit.animate import build_tiny_animate
    from video.runtime.img2vid import InputError

    assert "wan_animate" not in LORA_KINDS and "wan_vace" not in LORA_KINDS
    build_tiny_animate(tmp_path / "checkpoints" / "animate")
    with pytest.raises(InputError, match="LoRAs on wan_animate models are not supported"):
        load_video_model("animate", tmp_path, lora="x.safetensors")
