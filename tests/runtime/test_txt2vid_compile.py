"""The text-to-video compile switch: the transformer's blocks compiled one by one give the eager
latents (within float rounding of fused kernels), and the CUDA-graph modes refuse a CPU."""

import pytest
import torch

from video.models.blocks import repeated_blocks
from video.runtime.img2vid import InputError
from video.runtime.txt2vid import TextToVideo, build_tiny


def test_compiled_blocks_keep_the_output():
    eager = TextToVideo(build_tiny())
    compiled = TextToVideo(build_tiny())
    # random weights where the zero-init would make every block the identity
    with torch.no_grad():
        for p in eager.models.transformer.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())) * 0.02)
    compiled.models.transformer.load_state_dict(eager.models.transformer.state_dict())
    kw = dict(num_frames=1, height=32, width=32, num_inference_steps=2, output_type="latent")
    a = eager("a red kite", generator=torch.Generator().manual_seed(0), **kw)
    n = compiled.compile()
    assert n == len(repeated_blocks(compiled.models.transformer)) >= 2
    assert all(b._compiled_call_impl is not None for b in repeated_blocks(compiled.models.transformer))
    b = compiled("a red kite", generator=torch.Generator().manual_seed(0), **kw)
    assert not torch.equal(a, torch.zeros_like(a))
    torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)


def test_cudagraph_modes_need_cuda():
    if torch.cuda.is_available():
        pytest.skip("CPU-only check")
    with pytest.raises(InputError, match="CUDA"):
        TextToVideo(build_tiny()).compile(mode="reduce-overhead")


def test_compile_sets_the_recompile_limit_even_when_a_patch_undo_hid_it():
    """unittest.mock's undo deletes a config entry, and torch then hides it: reading it (or its
    old alias ``cache_size_limit``) raised AttributeError inside ``compile()`` in a CI run."""
    from video.runtime.speed import raise_recompile_limit

    cfg = torch._dynamo.config
    before = cfg.recompile_limit
    try:
        delattr(cfg, "recompile_limit")
        assert not hasattr(cfg, "recompile_limit")
        raise_recompile_limit(40)
        assert cfg.recompile_limit == 40
        raise_recompile_limit(10)  # never lowered
        assert cfg.recompile_limit == 40
    finally:
        cfg.recompile_limit = before
