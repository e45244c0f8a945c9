"""The prompt schedule reaches the model by sampler step, through the real tiny text-to-video
pipeline: the conditioning each model call receives is compared with the encoder's own
states for each text. Heun's corrector (run at the next step's time) used to get the next
step's prompt, so ``[cat|dog]`` stopped alternating; at shift 1e6 float32 times coincide and
the lookup by time gave steps the wrong prompt."""

from __future__ import annotations

import pytest
import torch

from video.runtime.txt2vid import TextToVideo, build_tiny


@pytest.fixture(scope="module")
def tiny():
    return TextToVideo(build_tiny())


def texts_seen(pipe: TextToVideo, prompt: str, steps: int, **kw) -> list[str]:
    """Which of ``cat`` / ``dog`` each model call was conditioned on, in call order."""
    states = {t: pipe.prompts.encode_text(t)[0] for t in ("cat", "dog")}
    uncond = pipe.prompts.encode_text("")[0]
    seen: list[str] = []

    def record(_module, args):
        ctx = args[2]  # (uncond, cond) with guidance > 1
        assert ctx.shape[0] == 2 and torch.equal(ctx[0], uncond.to(ctx))
        [name] = [t for t, s in states.items() if torch.equal(ctx[1], s.to(ctx))]
        seen.append(name)

    handle = pipe.models.transformer.register_forward_pre_hook(record)
    try:
        pipe(prompt, "", num_frames=1, height=32, width=32, num_inference_steps=steps, guidance_scale=5.0,
             generator=torch.Generator().manual_seed(0), output_type="latent", **kw)
    finally:
        handle.remove()
    return seen


def test_alternation_under_heun_changes_on_step_boundaries(tiny):
    # sampler step i is prompt step i + 1: [cat|dog] is cat on even steps; Heun calls twice
    # per step (once on the last), both calls with the step's own text
    want = ["cat", "cat", "dog", "dog", "cat", "cat", "dog", "dog", "cat", "cat", "dog"]
    assert texts_seen(tiny, "[cat|dog]", 6, sampler="heun") == want


def test_switch_under_heun_happens_after_step_3(tiny):
    assert texts_seen(tiny, "[cat:dog:3]", 6, sampler="heun") == ["cat"] * 6 + ["dog"] * 5


def test_alternation_under_euler(tiny):
    assert texts_seen(tiny, "[cat|dog]", 5, sampler="euler") == ["cat", "dog", "cat", "dog", "cat"]


def test_huge_shift_keeps_every_step_on_its_own_prompt(tiny):
    """At shift 1e6 the first float32 times all read 1.0; the steps still alternate."""
    seen = texts_seen(tiny, "[cat|dog]", 30, sampler="euler", shift=1e6)
    assert seen == ["cat", "dog"] * 15


def test_video_edit_follows_the_schedule_step_by_step(tiny):
    """``video edit`` solves one step at a time (one sampler call per step): each call is told
    its step, so ``[cat|dog]`` alternates there too (each call was step 0: all ``cat``)."""
    import numpy as np

    from video.edit.editor import Editor, FlowBackend

    states = {t: tiny.prompts.encode_text(t)[0] for t in ("cat", "dog")}
    seen: list[str] = []

    def record(_module, args):
        ctx = args[2]
        [name] = [t for t, s in states.items() if torch.equal(ctx[-1], s.to(ctx))]
        seen.append(name)

    video = np.random.default_rng(0).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    handle = tiny.models.transformer.register_forward_pre_hook(record)
    try:
        Editor(FlowBackend(tiny))(video, prompt="[cat|dog]", negative_prompt="", num_inference_steps=4,
                                  guidance_scale=5.0, sampler="euler", generator=torch.Generator().manual_seed(0))
    finally:
        handle.remove()
    assert seen == ["cat", "dog", "cat", "dog"]
