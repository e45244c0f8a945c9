"""Which Wan diffusers folders text-to-video runs, and how: Wan 2.2's two experts against
diffusers' own WanPipeline, the folder's flow shift, and one-line refusals for every folder it
would otherwise run with weights left out (VACE, Animate, TI2V, broken or pickled parts)."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from video.models.svd import CheckpointError
from video.runtime.txt2vid import TextToVideo

FIXTURES = Path(__file__).parents[1] / "edit" / "vace_fixtures.py"
PROMPT, NEG = "a red kite over the sea", "blurry"
FRAMES, H, W = 5, 32, 48


def _fixtures():
    spec = importlib.util.spec_from_file_location("vace_fixtures_for_wan_folders", FIXTURES)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fx = _fixtures()


def _transformer(seed: int):
    from diffusers import WanTransformer3DModel

    return fx.randomize(WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4,
        text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        eps=1e-6, rope_max_seq_len=32), seed)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """t2v: one expert, UniPC with flow_shift 5 (as published); wan22: two experts, boundary 0.875."""
    from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler, WanPipeline

    root = tmp_path_factory.mktemp("wanfolders")
    tok, text = fx.tiny_text()
    vae = fx.tiny_vae()
    unipc = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000,
                                    flow_shift=5.0)
    WanPipeline(tokenizer=tok, text_encoder=text, transformer=_transformer(3), vae=vae,
                scheduler=unipc).save_pretrained(root / "t2v", safe_serialization=True)
    WanPipeline(tokenizer=tok, text_encoder=text, transformer=_transformer(3), transformer_2=_transformer(7), vae=vae,
                scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0), boundary_ratio=0.875).save_pretrained(
        root / "wan22", safe_serialization=True)
    return root


def _latents():
    return torch.randn(1, 4, 2, H // 8, W // 8, generator=torch.Generator().manual_seed(4))


def _close(a, b) -> float:
    return (np.abs(a.astype(int) - b.astype(int)) <= 2).mean()


def test_wan22_two_experts_match_diffusers(root):
    from diffusers import WanPipeline

    ref = WanPipeline.from_pretrained(root / "wan22")
    ref.scheduler = fx.our_schedule(ref.scheduler)
    ref.set_progress_bar_config(disable=True)
    ours = TextToVideo.from_pretrained(root / "wan22")
    m = ours.models
    assert m.transformer_2 is not None and m.boundary_ratio == 0.875
    assert torch.equal(m.transformer_2.blocks[0].attn1.to_q.weight, ref.transformer_2.blocks[0].attn1.to_q.weight)
    # 4 steps at shift 3: t = 1, .9 (high-noise expert), .75, .5 (low-noise expert: t < 0.875)
    assert [m.expert_index(t) for t in (1.0, 0.9, 0.75, 0.5)] == [0, 0, 1, 1]
    kw = dict(num_frames=FRAMES, height=H, width=W, num_inference_steps=4, guidance_scale=5.0, guidance_scale_2=2.0)
    a = ours(PROMPT, negative_prompt=NEG, latents=_latents(), shift=3.0, **kw)
    b = ref(PROMPT, negative_prompt=NEG, latents=_latents(), output_type="np", **kw).frames[0]
    b = (b * 255).round().astype(np.uint8)
    assert a.shape == b.shape == (FRAMES, H, W, 3) and a.std() > 5
    assert _close(a, b) >= 0.99
    a_lat = ours(PROMPT, negative_prompt=NEG, latents=_latents(), shift=3.0, output_type="latent", **kw)
    b_lat = ref(PROMPT, negative_prompt=NEG, latents=_latents(), output_type="latent", **kw).frames
    err = (a_lat - b_lat).abs().max().item()
    assert err < 1e-4
    # the comparison can fail: the low-noise expert's own guidance, and the expert itself, matter
    kw["guidance_scale_2"] = 5.0
    other = ours(PROMPT, negative_prompt=NEG, latents=_latents(), shift=3.0, output_type="latent", **kw)
    assert (other - b_lat).abs().max().item() > 100 * max(err, 1e-6)
    second, m.transformer_2 = m.transformer_2, None
    try:
        kw.pop("guidance_scale_2")  # one transformer takes one guidance scale
        one = ours(PROMPT, negative_prompt=NEG, latents=_latents(), shift=3.0, output_type="latent", **kw)
        assert (one - b_lat).abs().max().item() > 100 * max(err, 1e-6)
    finally:
        m.transformer_2 = second


def test_flow_shift_from_the_scheduler_config(root):
    ours = TextToVideo.from_pretrained(root / "t2v")
    assert ours.config.sampling.shift == 5.0
    kw = dict(num_frames=FRAMES, height=H, width=W, num_inference_steps=3, guidance_scale=1.0,
              output_type="latent")
    lat = lambda: _latents()  # noqa: E731
    default = ours(PROMPT, latents=lat(), **kw)
    assert torch.equal(default, ours(PROMPT, latents=lat(), shift=5.0, **kw))
    assert not torch.allclose(default, ours(PROMPT, latents=lat(), shift=3.0, **kw))


def _copy(root: Path, tmp_path: Path, name: str = "t2v", **index) -> Path:
    dst = tmp_path / name
    shutil.copytree(root / name, dst)
    if index:
        f = dst / "model_index.json"
        f.write_text(json.dumps({**json.loads(f.read_text()), **index}))
    return dst


@pytest.mark.parametrize("index, message", [
    ({"_class_name": "WanAnimatePipeline"}, "video animate"),
    ({"_class_name": "WanVACEPipeline", "transformer": ["diffusers", "WanVACETransformer3DModel"]}, "video edit"),
    ({"_class_name": "WanImageToVideoPipeline"}, "image-to-video"),
    ({"expand_timesteps": True}, "TI2V .*expand_timesteps"),
    ({"transformer_2": ["diffusers", "WanTransformer3DModel"]}, "no boundary_ratio"),
    ({"boundary_ratio": 0.9}, "no second expert"),
])
def test_folders_not_run_whole_are_refused(root, tmp_path, index, message):
    with pytest.raises(CheckpointError, match=message) as e:
        TextToVideo.from_pretrained(_copy(root, tmp_path, **index))
    assert "\n" not in str(e.value)


def test_vace_folder_is_refused_and_its_weights_never_dropped(tmp_path):
    from diffusers import WanVACEPipeline

    WanVACEPipeline(**fx.vace_components()).save_pretrained(tmp_path / "vace", safe_serialization=True)
    with pytest.raises(CheckpointError, match="video edit TASK --model"):
        TextToVideo.from_pretrained(tmp_path / "vace")
    # an index that hides what transformer/ holds: the VACE weights would be left out, so it fails
    f = tmp_path / "vace" / "model_index.json"
    f.write_text(json.dumps({**json.loads(f.read_text()), "_class_name": "WanPipeline",
                             "transformer": ["diffusers", "WanTransformer3DModel"]}))
    with pytest.raises(CheckpointError, match="weights of transformer/ have no place in WanTransformer3DModel"):
        TextToVideo.from_pretrained(tmp_path / "vace")


def test_broken_parts_are_one_line_errors(root, tmp_path):
    no_te = _copy(root, tmp_path, name="t2v")
    for f in (no_te / "text_encoder").glob("*.safetensors*"):
        f.unlink()
    with pytest.raises(CheckpointError, match="text_encoder: no .safetensors weights"):
        TextToVideo.from_pretrained(no_te)
    shutil.rmtree(no_te)
    no_cfg = _copy(root, tmp_path, name="t2v")
    (no_cfg / "text_encoder" / "config.json").unlink()
    with pytest.raises(CheckpointError, match="cannot load text_encoder/"):
        TextToVideo.from_pretrained(no_cfg)
    (no_cfg / "transformer" / "config.json").unlink()
    with pytest.raises(CheckpointError, match="cannot load transformer/"):
        TextToVideo.from_pretrained(no_cfg)


def test_pickled_only_part_is_refused(root, tmp_path):
    from safetensors.torch import load_file

    p = _copy(root, tmp_path)
    sd = {}
    for f in (p / "transformer").glob("*.safetensors*"):
        if f.suffix == ".safetensors":
            sd.update(load_file(str(f)))
        f.unlink()
    torch.save(sd, p / "transformer" / "diffusion_pytorch_model.bin")  # diffusers would load this
    with pytest.raises(CheckpointError, match="pickled .bin files are not loaded"):
        TextToVideo.from_pretrained(p)


def test_cli_prints_one_line(root, tmp_path, capsys):
    from video.cli import main

    p = _copy(root, tmp_path, _class_name="WanAnimatePipeline")
    assert main(["txt2vid", "--model", str(p), "--prompt", "x", "--output", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "video animate" in err and "\n" not in err


def test_single_file_wan_transformer_says_what_is_missing(root, tmp_path):
    from safetensors.torch import load_file, save_file

    sd = load_file(str(next((root / "t2v" / "transformer").glob("*.safetensors"))))
    save_file({f"model.diffusion_model.{k}": v for k, v in sd.items()}, str(tmp_path / "wan_comfy.safetensors"))
    with pytest.raises(CheckpointError, match="single-file Wan transformer .* has no text encoder or VAE; give the "
                                              "diffusers folder"):
        TextToVideo.from_pretrained(tmp_path / "wan_comfy.safetensors")


def test_a_lora_on_two_experts_is_refused_not_half_merged(root, tmp_path, capsys):
    from safetensors.torch import save_file

    from video.cli import main

    lora = tmp_path / "l.safetensors"
    save_file({"blocks.0.attn1.to_q.lora_A.weight": torch.zeros(2, 8)}, str(lora))
    code = main(["txt2vid", "--model", str(root / "wan22"), "--prompt", "x", "--frames", "1", "--steps", "1",
                 "--lora", str(lora), "--output", str(tmp_path / "o.mp4")])
    err = capsys.readouterr().err
    assert code == 2 and "two experts" in err and not (tmp_path / "o.mp4").exists()


def test_guidance_2_flag_reaches_the_low_noise_expert(root, tmp_path, capsys):
    from video.cli import main
    from video.edit.mask import load_frames

    for name, extra in (("same", []), ("g2", ["--guidance-2", "1.0"])):  # PNG folders: exact frames
        code = main(["txt2vid", "--model", str(root / "wan22"), "--prompt", PROMPT, "--frames", str(FRAMES),
                     "--height", str(H), "--width", str(W), "--steps", "4", "--guidance", "5",
                     "--output", str(tmp_path / name), *extra])
        assert code == 0, capsys.readouterr().err
    assert not (load_frames(tmp_path / "same") == load_frames(tmp_path / "g2")).all()
    code = main(["txt2vid", "--model", str(root / "t2v"), "--prompt", "x", "--guidance-2", "2",
                 "--output", str(tmp_path / "o.mp4")])
    assert code == 2 and "one transformer" in capsys.readouterr().err
