"""``on_step(done, total)``: every pipeline reports each finished sampler step once, in order,
with the step count it runs (Heun too: one report per step, not per model call), and an
exception raised in it stops the run at that step (ComfyUI's Cancel goes through it)."""
import pytest
import torch

from video.runtime.img2vid import ImageToVideo
from video.runtime.progress import step_reporter
from video.runtime.txt2vid import TextToVideo, build_tiny


class Stop(Exception):
    pass


def test_the_reporter_counts_and_closes_its_bar():
    seen = []
    with step_reporter(3, "x", progress=False, on_step=lambda d, n: seen.append((d, n))) as hook:
        for i in range(3):
            hook(i, None)  # the samplers' own arguments are ignored
    assert seen == [(1, 3), (2, 3), (3, 3)]
    with step_reporter(3, "x") as hook:
        assert hook is None  # nothing asked for: the sampler runs with no hook


@pytest.mark.parametrize("sampler", ["euler", "heun"])
def test_text_to_video_reports_each_step_and_stops_when_told(sampler):
    pipe = TextToVideo(build_tiny())
    calls, seen = [], []
    forward = pipe._forward
    pipe._forward = lambda *a, **k: calls.append(1) or forward(*a, **k)
    kw = dict(num_frames=1, height=32, width=32, num_inference_steps=4, sampler=sampler, output_type="latent",
              generator=torch.Generator().manual_seed(0))
    pipe("a kite", on_step=lambda d, n: seen.append((d, n)), **kw)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    per_run = len(calls)

    def stop_at_2(d, n):
        if d == 2:
            raise Stop
    calls.clear()
    with pytest.raises(Stop):
        pipe("a kite", on_step=stop_at_2, **kw)
    assert 0 < len(calls) < per_run  # stopped inside the run, after step 2's model calls


def test_image_to_video_reports_each_step():
    pipe = ImageToVideo.from_pretrained("tiny")
    seen = []
    pipe(torch.rand(3, 64, 64), num_frames=2, num_inference_steps=3, height=64, width=64, output_type="latent",
         on_step=lambda d, n: seen.append((d, n)), generator=torch.Generator().manual_seed(0))
    assert seen == [(1, 3), (2, 3), (3, 3)]
