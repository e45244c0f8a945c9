import numpy as np
import pytest
import torch

from eval.fvd import (
    FVD_FRAMES,
    I3DFeatures,
    VideoMAEFeatures,
    features,
    first_frames,
    fvd,
    resize_crop,
    resize_squash,
)
from eval.inputs import EvalError


@pytest.fixture(scope="module")
def sets(bikes_frames, shuffled):
    """Two sets of real clips, and a set that differs from the first (darker, reversed)."""
    a = [bikes_frames[:8], bikes_frames[8:16], bikes_frames[16:24]]
    b = [(v[::-1] // 3).copy() for v in a]
    return a, b


def test_i3d_identical_sets_are_at_zero_distance(tiny_weights, sets):
    i3d = I3DFeatures(tiny_weights["i3d"], resolution=64, num_frames=8)
    a, b = sets
    assert fvd(i3d, a, a) == pytest.approx(0.0, abs=1e-9)
    assert fvd(i3d, a, b) > 1e-4


def test_i3d_stylegan_v_convention(tiny_weights, bikes_frames):
    """Features come from return_features=True (8-d, not the 400 class scores) on [-1, 1] clips
    shaped (B, 3, T, S, S)."""
    i3d = I3DFeatures(tiny_weights["i3d"], resolution=64, num_frames=8)
    assert i3d.stylegan_v
    f = i3d(bikes_frames[:8])
    x = (resize_squash(bikes_frames[:8], 64) * 2 - 1).permute(1, 0, 2, 3)[None]
    assert x.min() >= -1 and x.max() <= 1 and x.shape == (1, 3, 8, 64, 64)
    want = torch.jit.load(str(tiny_weights["i3d"]))(x, False, False, True)[0].detach().double().numpy()
    np.testing.assert_allclose(f, want, rtol=1e-6)


def test_plain_torchscript_forward(tmp_path, bikes_frames):
    m = torch.nn.Sequential(torch.nn.Conv3d(3, 4, 3), torch.nn.AdaptiveAvgPool3d(1), torch.nn.Flatten())
    torch.jit.script(m.eval()).save(str(tmp_path / "plain.pt"))
    i3d = I3DFeatures(tmp_path / "plain.pt", resolution=32, num_frames=4)
    assert not i3d.stylegan_v and i3d(bikes_frames[:4]).shape == (4,)


def test_resize_crop_keeps_aspect_and_centres():
    frames = np.zeros((2, 40, 80, 3), np.uint8)
    frames[:, :, 20:60] = 255  # a white centre square
    x = resize_crop(frames, 20)
    assert x.shape == (2, 3, 20, 20) and x.min() == pytest.approx(1.0)


def test_videomae_features(tiny_weights, sets):
    mae = VideoMAEFeatures(tiny_weights["videomae"])
    a, b = sets
    f = features(mae, a)
    assert f.shape == (3, 32)  # hidden size of the tiny config
    assert fvd(mae, a, a) == pytest.approx(0.0, abs=1e-9)
    assert fvd(mae, a, b) > 1e-4


def test_bad_weights_are_one_line_errors(tmp_path, tiny_weights):
    with pytest.raises(EvalError, match="not found"):
        I3DFeatures(tmp_path / "missing.pt")
    (tmp_path / "i3d.safetensors").write_bytes(b"x")
    with pytest.raises(EvalError, match="TorchScript"):
        I3DFeatures(tmp_path / "i3d.safetensors")
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    with pytest.raises(EvalError, match="not a TorchScript file"):
        I3DFeatures(tmp_path / "junk.pt")
    with pytest.raises(EvalError, match="no config.json"):
        VideoMAEFeatures(tmp_path)


def test_fvd_needs_two_videos_per_set(tiny_weights, sets):
    with pytest.raises(EvalError, match="at least 2"):
        fvd(I3DFeatures(tiny_weights["i3d"], resolution=32, num_frames=8), sets[0][:1], sets[1])


def test_a_bad_device_is_not_called_a_bad_file(tiny_weights):
    from eval.lpips import LPIPS

    for load in (lambda d: I3DFeatures(tiny_weights["i3d"], device=d), lambda d: LPIPS(tiny_weights["lpips"], d)):
        with pytest.raises(EvalError, match="--device cdua: not a device name"):
            load("cdua")
        if not torch.cuda.is_available():
            with pytest.raises(EvalError, match="--device cuda: not available here"):
                load("cuda")


def test_fvd_clips_are_the_first_16_frames(tiny_weights, bikes_frames):
    """Every clip, whatever its length, is cut to its first 16 frames (the original FVD's and
    StyleGAN-V's length): a clip and its first 16 frames have the same features, so a 16-frame
    generation and a long reference starting the same way compare the same motion."""
    assert FVD_FRAMES == 16
    i3d = I3DFeatures(tiny_weights["i3d"], resolution=32)
    long = np.concatenate([bikes_frames, bikes_frames[::-1]])  # 48 frames, the tail differs
    np.testing.assert_array_equal(i3d(long), i3d(bikes_frames[:16]))
    assert not np.array_equal(i3d(bikes_frames[:16]), i3d(bikes_frames[8:24]))
    with pytest.raises(EvalError, match="compares the first 16 frames of every clip; this one has 15"):
        i3d(bikes_frames[:15])
    np.testing.assert_array_equal(first_frames(long, 16), bikes_frames[:16])
    with pytest.raises(EvalError, match="at least 1"):
        I3DFeatures(tiny_weights["i3d"], num_frames=0)


def test_i3d_failing_on_a_short_clip_is_an_eval_error(tiny_weights, bikes_frames):
    """I3D's temporal kernels need enough frames: torch's RuntimeError becomes one line saying
    what to change (the tiny model's 3-frame kernel fails on 2)."""
    i3d = I3DFeatures(tiny_weights["i3d"], resolution=32, num_frames=2)
    with pytest.raises(EvalError, match=r"fvd_i3d: .*i3d.pt failed on 2-frame 32x32 clips .*--fvd-frames"):
        i3d(bikes_frames[:4])


def test_resize_squash_is_bilinear_to_a_square_without_crop():
    """I3D input: every frame squashed to size x size, as StyleGAN-V's resize=True and TF FVD do
    (no crop: the whole frame is seen); checked against OpenCV's bilinear resize (half-pixel
    centres, no antialiasing), an independent implementation of the same rule."""
    import cv2
    import skimage.data

    frames = np.stack([skimage.data.astronaut()[:300, :500], skimage.data.coffee()[:300, :500]])
    x = resize_squash(frames, 224)
    assert x.shape == (2, 3, 224, 224)
    want = np.stack([cv2.resize(f.astype(np.float32) / 255, (224, 224), interpolation=cv2.INTER_LINEAR)
                     for f in frames])
    np.testing.assert_allclose(x.permute(0, 2, 3, 1).numpy(), want, atol=1e-4)  # 1/40 of a level
    bars = np.zeros((1, 40, 80, 3), np.uint8)
    bars[:, :, :8] = 255  # a white bar at the left edge: a centre crop would lose it
    assert resize_squash(bars, 20)[0, :, :, 0].min() == pytest.approx(1.0)


def test_videomae_takes_its_first_frames(tiny_weights, bikes_frames):
    """VideoMAE reads the first num_frames (4 here) consecutive frames, the I3D rule, not frames
    spread over the clip (which would play long references faster than short generations)."""
    mae = VideoMAEFeatures(tiny_weights["videomae"])
    assert mae.num_frames == 4
    np.testing.assert_array_equal(mae(bikes_frames), mae(bikes_frames[:4]))
    with pytest.raises(EvalError, match="first 4 frames of every clip; this one has 3"):
        mae(bikes_frames[:3])
