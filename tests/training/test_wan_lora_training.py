"""LoRA training on a Wan 2.1 diffusers folder (``video train dit_lora model=WAN``): the loss is
the rectified-flow loss of the transformer called as ``video txt2vid`` calls it (timesteps on
Wan's 1000-step scale, the folder's flow shift, normalised video-VAE latents), a short run
exports a LoRA that ``txt2vid --lora`` renders, and what training could not give the runtime
(Wan 2.2's second expert, a full fine-tune's export) is refused before the run folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from video.config import ConfigError, load_config
from video.training.config import TrainConfig

SHIFT = 3.0  # the folder's scheduler shift: what txt2vid samples with (by token count it would be 1)
LORA = ["lora.targets=[to_q,to_k,to_v,to_out.0]", "lora.rank=4"]
SMALL = ["data.kind=shapes", "data.size=2", "data.frames=5", "data.height=32", "data.width=32", "batch_size=2"]


def _transformer(seed: int):
    from diffusers import WanTransformer3DModel

    t = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4,
                              out_channels=4, text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, cross_attn_norm=True,
                              qk_norm="rms_norm_across_heads", eps=1e-6, rope_max_seq_len=32)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # non-zero everywhere (diffusers zero-initialises some projections)
        for p in t.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / (p[0].numel() ** 0.5 if p.ndim > 1 else 10))
    return t.eval()


def _parts() -> dict:
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler
    from transformers import UMT5Config, UMT5EncoderModel

    from video.models.text import build_tiny_tokenizer

    torch.manual_seed(0)
    tok = build_tiny_tokenizer("t5")
    text = UMT5EncoderModel(UMT5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                                       relative_attention_num_buckets=8, pad_token_id=tok.pad_token_id,
                                       eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id)).eval()
    vae = AutoencoderKLWan(base_dim=32, z_dim=4, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                           temperal_downsample=[False, True, True],
                           latents_mean=[0.1, -0.2, 0.3, 0.0], latents_std=[1.5, 0.8, 1.2, 2.0]).eval()
    return dict(tokenizer=tok, text_encoder=text, vae=vae, scheduler=FlowMatchEulerDiscreteScheduler(shift=SHIFT))


@pytest.fixture(scope="module")
def wan_dir(tmp_path_factory):
    from diffusers import WanPipeline

    path = tmp_path_factory.mktemp("wanlora") / "tiny-wan"
    WanPipeline(transformer=_transformer(3), **_parts()).save_pretrained(path, safe_serialization=True)
    return path


def _cfg(model, *overrides: str) -> TrainConfig:
    return load_config(TrainConfig, "configs/train/dit_lora.yaml", [f"model={model}", *LORA, *SMALL, *overrides])


def test_the_wan_loss_is_the_flow_loss_of_the_runtimes_own_call(wan_dir, tmp_path):
    """The task's loss against one computed here: the same draws (caption dropout, logit-normal
    u, noise) from the same seed, t shifted by the folder's 3.0, x_t on the straight path
    between the VAE's normalised latents and the noise, and the velocity from
    ``TextToVideo._forward``, the call txt2vid samples with."""
    from video.runtime.txt2vid import TextToVideo
    from video.training.tasks import TASKS

    task = TASKS["dit_t2v"](_cfg(wan_dir, f"out={tmp_path / 'run'}", "objective.caption_dropout=0"))
    video = torch.rand(2, 5, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1  # (B, F, 3, H, W)
    captions = ["a red kite over the sea", "a cat"]
    got = task.loss({"video": video, "caption": captions}, torch.Generator().manual_seed(7))

    pipe = TextToVideo.from_pretrained(wan_dir)  # the runtime, loaded apart from the task
    g = torch.Generator().manual_seed(7)
    assert not (torch.rand(2, generator=g) < 0).any()  # the caption-dropout draw: none dropped
    s = torch.sigmoid(torch.randn(2, generator=g))
    t = SHIFT * s / (1 + (SHIFT - 1) * s)
    with torch.no_grad():
        x0 = pipe.models.latents.encode(video.permute(0, 2, 1, 3, 4))
        noise = torch.randn(x0.shape, generator=g)
        ctx = torch.cat([pipe.prompts.encode_text(c) for c in captions])
        xt = (1 - t.view(-1, 1, 1, 1, 1)) * x0 + t.view(-1, 1, 1, 1, 1) * noise
        want = ((pipe._forward(xt, t, ctx) - (noise - x0)) ** 2).flatten(1).mean(1)
        # the check can fail: the transformer told t in [0, 1] (not x1000) predicts otherwise
        unscaled = ((pipe.models.transformer(xt, t, ctx, return_dict=False)[0] - (noise - x0)) ** 2).flatten(1).mean(1)
    assert x0.shape == (2, 4, 2, 4, 4)  # 5 frames: 2 latent frames (4k+1), 8x smaller
    torch.testing.assert_close(got.detach(), want, rtol=1e-4, atol=1e-5)
    assert (unscaled - want).abs().min() > 1e-2


def test_a_wan_lora_run_exports_a_lora_txt2vid_renders(wan_dir, tmp_path, cli):
    from PIL import Image
    from safetensors.torch import load_file

    from video.training.trainer import train

    run = tmp_path / "run"  # one frame (4k+1 with k = 0): the preview at the end decodes one
    train(_cfg(wan_dir, f"out={run}", "steps=2", "ckpt_every=10", "optim.lr=3e-2", "data.frames=1"), progress=False)
    lora = run / "final" / "lora.safetensors"
    weights = load_file(str(lora))
    assert any(k.startswith("transformer.blocks.0.attn1.to_q.lora_B") for k in weights)
    assert all(v.abs().max() > 0 for k, v in weights.items() if "lora_B" in k)  # trained off B = 0
    from video.models.inspect import describe

    for name in ("lora.safetensors", "lora_kohya.safetensors"):  # each names the base it was trained on
        info = describe(run / "final" / name)
        assert (info["base_model"], info["task"], info["target"]) == (str(wan_dir), "dit_t2v", "wan"), info

    frames = {}
    for name, extra in (("base", []), ("lora", ["--lora", lora])):
        out = tmp_path / f"{name}.png"
        r = cli("txt2vid", "--model", wan_dir, "--prompt", "a red circle", "--frames", 1, "--height", 32, "--width", 32,
                "--steps", 2, "--seed", 0, "--output", out, *extra)
        assert r.returncode == 0, r.stderr
        frames[name] = np.asarray(Image.open(out)).astype(int)
    assert f"lora: {lora} at 1" in r.stderr
    assert frames["base"].std() > 2  # a picture, not a flat frame
    assert np.abs(frames["lora"] - frames["base"]).mean() > 1  # the trained adapters move it (about 5 levels)


@pytest.mark.parametrize("case", ["two_experts", "full_fine_tune"])
def test_what_the_runtime_could_not_render_as_trained_is_refused_before_the_run(wan_dir, tmp_path, case):
    """Wan 2.2's low-noise expert would stay untrained (and --lora refuses such folders); a full
    fine-tune's export (our layout) cannot hold a Wan transformer."""
    from diffusers import WanPipeline

    from video.training.trainer import train

    if case == "two_experts":
        model, extra, words = tmp_path / "wan22", [], "two experts"
        WanPipeline(transformer=_transformer(3), transformer_2=_transformer(7), boundary_ratio=0.875,
                    **_parts()).save_pretrained(model, safe_serialization=True)
    else:
        model, extra, words = wan_dir, ["lora.enabled=false"], "full fine-tuning of a Wan model"
    cfg = _cfg(model, f"out={tmp_path / 'run'}", "steps=1", *extra)
    with pytest.raises(ConfigError, match=words) as e:
        train(cfg, progress=False)
    assert "\n" not in str(e.value)
    assert not Path(cfg.out).exists()
