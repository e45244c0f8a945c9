import torch

from video.models.image_encoder import clip_pixel_values, resize_antialiased


def test_resize_matches_diffusers_kornia_port():
    """Independent reference: diffusers' port of kornia's anti-aliased resize used by its SVD pipeline."""
    from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import (
        _resize_with_antialiasing,
    )

    x = torch.rand(2, 3, 131, 257, generator=torch.Generator().manual_seed(0)) * 2 - 1
    ours = resize_antialiased(x, (224, 224))
    ref = _resize_with_antialiasing(x, (224, 224))
    assert torch.allclose(ours, ref, atol=1e-5)
    big = torch.rand(1, 3, 576, 1024, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(resize_antialiased(big, (224, 224)), _resize_with_antialiasing(big, (224, 224)), atol=1e-5)


def test_clip_normalisation():
    x = torch.full((1, 3, 224, 224), 0.5)
    out = clip_pixel_values(x, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    assert out.shape == (1, 3, 224, 224)
    assert torch.allclose(out, torch.zeros_like(out), atol=1e-5)
