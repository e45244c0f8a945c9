import numpy as np
import pytest
import skimage.data
import torch

from eval.clip_sim import ClipSim


@pytest.fixture(scope="module")
def clip_sim(tiny_weights):
    return ClipSim(tiny_weights["clip"])


def test_static_video_is_fully_consistent(clip_sim, bikes_frames):
    s, curves = clip_sim.scores(np.repeat(bikes_frames[:1], 4, axis=0))
    assert s["clip_frame"] == pytest.approx(1.0, abs=1e-5) and len(curves["clip_frame"]) == 3
    assert "clip_text" not in s


def test_alternating_content_is_less_consistent(clip_sim):
    cat, astro = skimage.data.chelsea()[:256, :256], skimage.data.astronaut()[::2, ::2]
    s, _ = clip_sim.scores(np.stack([cat, astro, cat, astro]))
    assert s["clip_frame"] < 1 - 1e-3


def test_prompt_similarity_matches_clip_logits(clip_sim, bikes_frames):
    """clip_text is CLIP's own image-text logit divided by its temperature, frame by frame."""
    prompt = "a cyclist rides through a park"
    frames = bikes_frames[:3]
    s, curves = clip_sim.scores(frames, prompt)
    tok = clip_sim.tokenizer([prompt], return_tensors="pt")
    assert tok["input_ids"][0, -1] == clip_sim.model.config.text_config.eos_token_id
    with torch.no_grad():
        out = clip_sim.model(input_ids=tok["input_ids"], attention_mask=tok["attention_mask"],
                             pixel_values=clip_sim.pixel_values(frames))
        want = (out.logits_per_image[:, 0] / clip_sim.model.logit_scale.exp()).numpy()
    np.testing.assert_allclose(curves["clip_text"], want, atol=1e-5)
    assert s["clip_text"] == pytest.approx(float(want.mean()), abs=1e-5)


def test_pixel_values_crop_the_centre_square(clip_sim):
    frames = np.zeros((1, 40, 80, 3), np.uint8)
    frames[:, :, 20:60] = 255
    x = clip_sim.pixel_values(frames)
    white = (1 - torch.tensor(clip_sim.mean).view(3, 1, 1)) / torch.tensor(clip_sim.std).view(3, 1, 1)
    assert x.shape == (1, 3, 32, 32)
    torch.testing.assert_close(x[0], white.expand(3, 32, 32), atol=1e-3, rtol=0)


def test_one_frame_has_no_frame_consistency(clip_sim, bikes_frames):
    """No pair of frames: clip_frame is None (not applicable), not 1.0 (perfect)."""
    s, curves = clip_sim.scores(bikes_frames[:1])
    assert s["clip_frame"] is None and curves["clip_frame"] == []
