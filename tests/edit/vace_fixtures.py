"""Tiny random Wan components (VACE, Animate) and diffusers' scheduler on our sampling grid,
shared by tests/edit; built by the tests, nothing downloaded."""

from __future__ import annotations

import numpy as np
import torch

SHIFT = 3.0


def tiny_text():
    from transformers import UMT5Config, UMT5EncoderModel

    from video.models.text import build_tiny_tokenizer

    torch.manual_seed(0)
    tok = build_tiny_tokenizer("t5")
    text = UMT5EncoderModel(UMT5Config(vocab_size=len(tok), d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
                                       relative_attention_num_buckets=8, pad_token_id=tok.pad_token_id,
                                       eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id))
    return tok, text.eval()


def tiny_vae():
    from diffusers import AutoencoderKLWan

    torch.manual_seed(1)
    return AutoencoderKLWan(base_dim=32, z_dim=4, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True],
                            latents_mean=[0.1, -0.2, 0.3, 0.0], latents_std=[1.5, 0.8, 1.2, 2.0]).eval()


def randomize(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every weight ~ N(0, 1/fan_in) (biases ~ N(0, 0.01)): diffusers zero-initialises the
    VACE output projections, so a freshly built model would ignore its conditioning."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / (p[0].numel() ** 0.5 if p.ndim > 1 else 10))
    return module.eval()


def vace_components() -> dict:
    from diffusers import FlowMatchEulerDiscreteScheduler, WanVACETransformer3DModel

    tok, text = tiny_text()
    transformer = WanVACETransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4,
        text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        eps=1e-6, rope_max_seq_len=32, vace_layers=[0, 1], vace_in_channels=2 * 4 + 8 * 8)
    randomize(transformer, 3)
    with torch.no_grad():
        # the tiny random VAE barely varies its latents with content (std ~0.2, against 0/1 mask
        # channels): weigh the 8 latent channels of the context up, as a trained model would
        transformer.vace_patch_embedding.weight[:, :8].mul_(30.0)
    return dict(tokenizer=tok, text_encoder=text, transformer=transformer, vae=tiny_vae(),
                scheduler=FlowMatchEulerDiscreteScheduler(shift=SHIFT))


def our_schedule(scheduler):
    """diffusers' flow-match Euler scheduler on Wan's own grid (wan/utils/fm_solvers.py:
    linspace(1, 0, N + 1)[:N], shifted), which is also ours; diffusers' default ends at 1/1000."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    class OurSchedule(FlowMatchEulerDiscreteScheduler):
        def set_timesteps(self, num_inference_steps=None, device=None, **kw):
            super().set_timesteps(sigmas=np.linspace(1.0, 0.0, num_inference_steps + 1)[:-1], device=device)

    return OurSchedule.from_config(scheduler.config)


def moving_clip(frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """A real photograph (scikit-image's astronaut) panned across ``frames`` frames, uint8 (F, H, W, 3)."""
    import skimage.data
    from PIL import Image

    img = np.asarray(Image.fromarray(skimage.data.astronaut()).resize((width * 3, height * 3), Image.BILINEAR))
    x0 = 4 * seed
    return np.stack([img[height + i: 2 * height + i, width + x0 + 2 * i: 2 * width + x0 + 2 * i]
                     for i in range(frames)])


def close(a: np.ndarray, b: np.ndarray, tol: int = 2) -> float:
    """Fraction of pixels within ``tol``/255."""
    return float((np.abs(a.astype(int) - b.astype(int)) <= tol).mean())


def lora_wan_transformer():
    """The tiny random Wan 2.1 transformer the LoRA-format tests merge into (tests/models)."""
    from diffusers import WanTransformer3DModel

    return randomize(WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4,
        text_dim=32, freq_dim=32, ffn_dim=64, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        eps=1e-6, rope_max_seq_len=32), 3)
