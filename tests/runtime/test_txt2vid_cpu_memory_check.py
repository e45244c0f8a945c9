"""A CPU text-to-video render that cannot fit in the RAM available is refused before any work,
in img2vid's words (Linux overcommits: such a render was killed minutes in without a word),
and the estimate it is refused on is below the real peak, so a render that fits is never
refused: checked against the activations torch's memory tracker counts in one forward."""

from __future__ import annotations

import pytest
import torch

import video.runtime.txt2vid as txt2vid
from video.runtime.img2vid import NotEnoughMemory
from video.runtime.memory import available_memory
from video.runtime.t2v_checks import step_bytes, transformer_widths
from video.runtime.txt2vid import TextToVideo

H = W = 64  # the tiny model: 8x VAE, 2x2 patches: 16 tokens per frame


@pytest.fixture(scope="module")
def tiny():
    return TextToVideo.from_pretrained("tiny")


def free() -> int:
    room = available_memory()
    if room is None:
        pytest.skip("this machine does not say its available memory")
    return room


def frames_past_ram() -> int:
    """Frames whose decoded float32 clip alone (3 x H x W x 4 bytes a frame) is twice the RAM."""
    return 2 * (free() // (3 * H * W * 4) + 1)


@pytest.fixture()
def no_render(monkeypatch):
    """Fails the test as soon as the work starts (encoding the prompt): the refusal must come
    first, and without it the test must not run the machine out of memory."""
    def started(*a, **k):
        raise AssertionError("the render started")

    monkeypatch.setattr(txt2vid, "encode_prompts", started)


def test_a_render_past_the_ram_is_refused_before_any_work(tiny, no_render):
    frames = frames_past_ram()
    with pytest.raises(NotEnoughMemory) as e:
        tiny("a kite", num_frames=frames, height=H, width=W, num_inference_steps=1)
    assert e.value.needed >= 3 * H * W * 4 * frames > e.value.available
    assert str(e.value).startswith(f"{frames} frames at {W}x{H} (width x height) need about ")
    assert str(e.value).endswith(" GiB is available") and "\n" not in str(e.value)


def test_the_step_counts_the_guided_batch_and_what_fits_passes(tiny):
    """Undecoded (latents only), the step decides: about 0.65 of the RAM as one item passes, the
    guided pair of the same frames does not; a render of the suite's size runs."""
    dim, ffn = transformer_widths(tiny.models.transformer.config)
    per_frame = step_bytes(16, dim, ffn, 1, 4)
    frames = int(0.65 * free()) // per_frame
    tiny.check_room(frames, H, W, items=1, decode=False)
    with pytest.raises(NotEnoughMemory):
        tiny.check_room(frames, H, W, items=2, decode=False)
    out = tiny("a kite", num_frames=2, height=H, width=W, num_inference_steps=1)
    assert out.shape == (2, H, W, 3)


def test_the_cli_says_the_refusal_in_one_line(cli, tmp_path, no_render):
    frames = frames_past_ram()
    r = cli("txt2vid", "--model", "tiny", "--frames", frames, "--height", H, "--width", W, "--steps", "1",
            "--output", tmp_path / "x.mp4")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    head = f"error: out of memory rendering {frames} frames at {W}x{H} (width x height) on cpu (about "
    assert len(r.errors) == 1 and r.errors[0].startswith(head), r.stderr
    assert " GiB available); to use less: fewer --frames" in r.errors[0]
    assert not (tmp_path / "x.mp4").exists()


def _wan_transformer():
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=4, attention_head_dim=32, in_channels=4,
                                 out_channels=4, text_dim=32, freq_dim=32, ffn_dim=256, num_layers=2,
                                 cross_attn_norm=True, qk_norm="rms_norm_across_heads", eps=1e-6).eval()


@pytest.mark.parametrize("which", ["dit", "wan"])
def test_the_step_estimate_is_below_the_traced_peak(tiny, which):
    """The activations live at the peak of one forward (torch's MemTracker, as
    video.runtime.memory traced the UNet) are at least :func:`step_bytes`: a render the check
    passes on is never refused, and one it refuses could not have run."""
    from torch.distributed._tools.mem_tracker import MemTracker

    model = tiny.models.transformer if which == "dit" else _wan_transformer()
    dim, ffn = transformer_widths(model.config)
    b, f, h, w = 2, 4, 32, 48
    x, t, ctx = torch.randn(b, 4, f, h, w), torch.rand(b) * (1 if which == "dit" else 1000), torch.randn(b, 16, 32)
    tracker = MemTracker()
    tracker.track_external(model)
    with torch.no_grad(), tracker:
        model(x, t, ctx)
    peak = tracker.get_tracker_snapshot("peak")[torch.device("cpu")]
    activations = sum(v for k, v in peak.items() if getattr(k, "value", None) == "Activation")
    assert step_bytes(f * (h // 2) * (w // 2), dim, ffn, b, 4) <= activations
