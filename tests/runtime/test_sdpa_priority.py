"""The ``--sdpa`` switch: which fused attention kernel torch tries first. On a GPU the bench
measures it; here we check that it reaches every attention of a render (ours and diffusers'),
leaves nothing out, restores torch's order afterwards, and keeps the output."""

import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend

from video.cli import main
from video.runtime.img2vid import ImageToVideo
from video.runtime.speed import SDPA_FIRST, sdpa_priority
from video.runtime.txt2vid import TextToVideo, build_tiny


def _order() -> list[int]:
    return list(torch._C._get_sdp_priority_order())


@pytest.mark.parametrize("first", ["cudnn", "flash", "efficient"])
def test_priority_puts_one_kernel_first_and_keeps_the_rest(first):
    default = _order()
    named = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
             "efficient": SDPBackend.EFFICIENT_ATTENTION}
    with sdpa_priority(first):
        inside = _order()
        q = torch.randn(1, 2, 8, 4)
        out = torch.nn.functional.scaled_dot_product_attention(q, q, q)  # still served on this device
    assert inside[0] == int(named[first])
    assert sorted(inside[:4]) == sorted(int(b) for b in (SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION,
                                                          SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH))
    assert _order() == default  # restored on leaving
    w = torch.softmax(q @ q.transpose(-2, -1) / 2.0, -1)
    torch.testing.assert_close(out, w @ q)
    with sdpa_priority("torch"):
        assert _order() == default
    with pytest.raises(ValueError, match="unknown SDPA kernel"), sdpa_priority("fa3"):
        pass


def _orders_seen(module: torch.nn.Module) -> list:
    seen = []
    module.register_forward_pre_hook(lambda m, a: seen.append(_order()[0]))
    return seen


def test_text_to_video_renders_under_the_chosen_order():
    pipe = TextToVideo(build_tiny())
    with torch.no_grad():  # non-zero gates: attention matters to the output
        for p in pipe.models.transformer.parameters():
            p.add_(torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel())) * 0.02)
    seen = _orders_seen(pipe.models.transformer)
    kw = dict(num_frames=1, height=32, width=32, num_inference_steps=2)
    plain = pipe("a red kite", generator=torch.Generator().manual_seed(0), **kw)
    pipe.sdpa_first = "cudnn"
    cudnn_first = pipe("a red kite", generator=torch.Generator().manual_seed(0), **kw)
    assert seen[0] == _order()[0] and seen[-1] == int(SDPBackend.CUDNN_ATTENTION)
    assert np.array_equal(plain, cudnn_first)  # the CPU serves both with the same kernel


def test_image_to_video_renders_under_the_chosen_order(tiny_models, photo):
    pipe = ImageToVideo(tiny_models)
    pipe.sdpa_first = "efficient"
    seen = _orders_seen(tiny_models.unet)
    pipe(photo, num_frames=2, num_inference_steps=1, height=64, width=96, decode_chunk_size=2)
    assert seen and set(seen) == {int(SDPBackend.EFFICIENT_ATTENTION)}  # diffusers' UNet inside it too


def test_cli_refuses_an_unknown_kernel_before_loading(capsys):
    assert main(["txt2vid", "--model", "/nonexistent/model", "--sdpa", "fa3"]) == 2
    err = capsys.readouterr().err
    assert "--sdpa must be one of" in err and all(n in err for n in SDPA_FIRST)


def test_editor_renders_under_the_chosen_order():
    """``video edit --sdpa``: the editor's own loop (not the wrapped pipeline's ``__call__``) runs
    under the order too."""
    from video.edit import Editor
    from video.edit.editor import FlowBackend

    editor = Editor(FlowBackend(TextToVideo(build_tiny())))
    editor.sdpa_first = "cudnn"
    seen = _orders_seen(editor.backend.pipe.models.transformer)
    frames = np.random.default_rng(0).integers(0, 255, (1, 32, 32, 3), dtype=np.uint8)
    editor(frames, prompt="a kite", strength=0.5, num_inference_steps=2, generator=torch.Generator().manual_seed(0))
    assert seen and set(seen) == {int(SDPBackend.CUDNN_ATTENTION)}
    assert _order()[0] != int(SDPBackend.CUDNN_ATTENTION)  # restored
