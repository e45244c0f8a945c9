"""Mask sources and their maps onto the pixel and latent grids, against hand-computed cases."""

import numpy as np
import pytest
import torch

from video.edit.mask import (
    Box,
    feather,
    latent_mask,
    load_frames,
    load_mask,
    parse_box,
    resize_mask,
    temporal_groups,
)
from video.media import MediaError, write_video


def test_spatial_8x_is_max_over_each_cell():
    m = torch.zeros(1, 16, 24)
    m[0, 9, 3] = 1.0  # one pixel in cell (row 1, col 0)
    m[0, 0:8, 16:24] = 0.25  # a whole grey cell (row 0, col 2)
    m[0, 15, 23] = 0.75  # and one brighter pixel in the last cell
    lat = latent_mask(m, 8)
    assert lat.shape == (1, 2, 3)
    assert torch.equal(lat[0], torch.tensor([[0.0, 0.0, 0.25], [1.0, 0.0, 0.75]]))
    with pytest.raises(ValueError, match="multiple"):
        latent_mask(torch.zeros(1, 12, 16), 8)


def test_temporal_4x_causal_grouping():
    assert temporal_groups(9, 4) == [(0, 1), (1, 5), (5, 9)]
    assert temporal_groups(7, 4) == [(0, 1), (1, 5), (5, 7)]  # a short last group
    assert temporal_groups(3, 1) == [(0, 1), (1, 2), (2, 3)]
    # latent frame k covers pixel frames 4k-3..4k, frame 0 alone; masked if any of them is
    expected = {0: [1, 0, 0], 1: [0, 1, 0], 4: [0, 1, 0], 5: [0, 0, 1], 8: [0, 0, 1]}
    for frame, lat in expected.items():
        m = torch.zeros(9, 8, 8)
        m[frame, 2, 2] = 1.0
        assert latent_mask(m, 8, 4)[:, 0, 0].tolist() == lat, frame
    m = torch.zeros(9, 8, 8)
    m[3:6] = 1.0  # straddles latent frames 1 and 2
    assert latent_mask(m, 8, 4)[:, 0, 0].tolist() == [0, 1, 1]


def test_box_masks_frame_ranges_and_inversion():
    assert parse_box("1,2,5,4") == Box(1, 2, 5, 4)
    assert parse_box("1,2,5,4@3:7") == Box(1, 2, 5, 4, 3, 7)
    assert parse_box(" 1, 2,5,4 @2:") == Box(1, 2, 5, 4, 2, None)
    for bad in ("1,2,3", "5,2,1,4", "1,2,5,4@3:3", "a,b,c,d"):
        with pytest.raises(MediaError):
            parse_box(bad)
    m = load_mask("1,2,5,4", 3, 6, 8)
    hand = np.zeros((6, 8))
    hand[2:4, 1:5] = 1
    assert all(np.array_equal(m[i].numpy(), hand) for i in range(3))
    ranged = load_mask("1,2,5,4@1:2", 3, 6, 8)
    assert ranged.sum(dim=(1, 2)).tolist() == [0, 8, 0]
    assert load_mask("1,2,5,4@1:", 3, 6, 8).sum(dim=(1, 2)).tolist() == [0, 8, 8]
    assert torch.equal(load_mask("1,2,5,4", 3, 6, 8, invert=True), 1 - m)
    assert torch.equal(load_mask(None, 2, 4, 4), torch.ones(2, 4, 4))
    assert torch.equal(load_mask(None, 2, 4, 4, invert=True), torch.zeros(2, 4, 4))
    # a box in input pixels follows the resize to the working size (here exactly half)
    assert torch.equal(load_mask("2,4,10,8", 3, 6, 8, source_size=(12, 16)), m)
    with pytest.raises(MediaError, match="outside"):
        load_mask("20,20,30,30", 3, 6, 8)


def test_feathering_is_an_inward_monotonic_ramp():
    m = torch.zeros(1, 1, 16)
    m[0, 0, 3:13] = 1.0
    f = feather(m.expand(1, 5, 16).contiguous(), 3)[0, 2]
    # min(d, r) / r with d the distance to the nearest kept pixel: 1/3, 2/3, 1, ... inside; 0 outside
    hand = torch.zeros(16)
    hand[3:13] = torch.tensor([1, 2, 3, 3, 3, 3, 3, 3, 2, 1]) / 3
    assert torch.allclose(f, hand)
    sq = torch.zeros(1, 32, 32)
    sq[0, 4:28, 4:28] = 1.0
    fs = feather(sq, 6)[0]
    assert (fs <= sq[0]).all() and (fs[sq[0] == 0] == 0).all()
    row = fs[16, :17]  # from outside to the centre: never decreasing
    assert (row[1:] >= row[:-1]).all() and row[0] == 0 and row[-1] == 1
    wider = feather(sq, 10)[0]
    assert (wider <= fs + 1e-6).all()  # a wider feather is softer everywhere
    # the frame border is not an edge: a full mask stays full
    assert torch.equal(feather(torch.ones(2, 8, 8), 4), torch.ones(2, 8, 8))


def test_grey_levels_threshold_or_soft():
    g = np.zeros((4, 8), dtype=np.uint8)
    g[:, 4:] = 128
    g[:, 6:] = 255
    hard = load_mask(g, 2, 4, 8)
    assert hard[0, 0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    soft = load_mask(g, 2, 4, 8, soft=True)
    assert torch.allclose(soft[1, 0], torch.tensor([0, 0, 0, 0, 128 / 255, 128 / 255, 1, 1]))
    assert torch.allclose(latent_mask(soft, 4)[0], torch.tensor([[0.0, 1.0]]))
    assert torch.equal(load_mask(np.ones((4, 8), bool), 3, 4, 8), torch.ones(3, 4, 8))


def test_masks_from_files_folders_and_videos(tmp_path):
    m = np.zeros((5, 32, 48), dtype=np.uint8)
    m[:, 8:24, 16:32] = 255
    m[3:, :, :] = 0
    rgb = np.repeat(m[..., None], 3, axis=-1)
    folder = write_video(rgb, tmp_path / "mask_frames")  # a folder of PNGs
    assert torch.equal(load_mask(folder, 5, 32, 48), torch.from_numpy(m / 255.0).float())
    mp4 = write_video(rgb, tmp_path / "mask.mp4")
    from_video = load_mask(mp4, 5, 32, 48).numpy()
    assert (from_video == m / 255.0).mean() > 0.995  # H.264 rounding, thresholded at 0.5
    png = tmp_path / "one.png"
    from PIL import Image

    Image.fromarray(m[0]).save(png)
    one = load_mask(png, 4, 16, 24)  # one frame for every frame, resized to half size
    assert one.shape == (4, 16, 24) and torch.equal(one[0], one[3]) and one[0, 4:12, 8:16].all()
    assert one.sum() == 4 * 8 * 8
    with pytest.raises(MediaError, match="frames"):
        load_mask(folder, 9, 32, 48)
    with pytest.raises(MediaError, match="not found"):
        load_mask(tmp_path / "missing.mp4", 2, 8, 8)
    assert load_frames(folder).shape == (5, 32, 48, 3)


def test_resize_follows_the_video_geometry():
    from PIL import Image

    from video.media import resize_center_crop

    m = torch.zeros(1, 40, 100)
    m[0, :, 50:] = 1.0  # right half
    r = resize_mask(m, 20, 20)  # cover-scale to 20x50, crop the centre 20 columns
    img = np.asarray(resize_center_crop(Image.fromarray((m[0].numpy() * 255).astype(np.uint8)), 20, 20)) / 255
    assert r.shape == (1, 20, 20)
    assert np.abs(r[0].numpy() - img).max() < 0.15  # same geometry as the frames' resize
    assert (r[0, :, :9] < 0.5).all() and (r[0, :, 11:] > 0.5).all()


def test_levels_by_type_not_by_value():
    """A float mask that overshoots 1 (a bicubic resize) stays a mask: floats are clipped to
    [0, 1]; uint8 and uint16 scale by their range. Dividing by 255 whenever the maximum passed
    1 made the overshooting mask vanish."""
    import cv2

    m = np.zeros((32, 48), np.float32)
    m[8:24, 12:36] = 1.0
    up = cv2.resize(m, (96, 64), interpolation=cv2.INTER_CUBIC)
    assert up.max() > 1.0
    got = load_mask(up, 1, 64, 96)
    assert torch.equal(got[0], torch.from_numpy(np.clip(up, 0, 1) >= 0.5).float()) and got.mean() == pytest.approx(0.25, abs=0.01)
    assert torch.allclose(load_mask(np.array([[0, 128, 255]], np.uint8), 1, 1, 3, soft=True)[0, 0],
                          torch.tensor([0, 128 / 255, 1]))
    assert torch.allclose(load_mask(np.array([[0, 32768, 65535]], np.uint16), 1, 1, 3, soft=True)[0, 0],
                          torch.tensor([0, 32768 / 65535, 1]))
    assert load_mask(np.array([[0, 1, 1]]), 1, 1, 3).tolist() == [[[0, 1, 1]]]  # Python ints 0/1
    assert load_mask(np.array([[0, 255, 100]]), 1, 1, 3).tolist() == [[[0, 1, 0]]]  # Python ints 0..255
    # a float image in 0..255 (an image read as float) keeps its grey levels, as load_image reads it
    assert torch.allclose(load_mask(np.array([[0, 100, 255]], np.float32), 1, 1, 3, soft=True)[0, 0],
                          torch.tensor([0, 100 / 255, 1]))


def test_image_folders_in_natural_order(tmp_path):
    from PIL import Image

    for i in range(1, 13):  # 1.png .. 12.png, not zero-padded
        Image.fromarray(np.full((4, 4, 3), i * 20, np.uint8)).save(tmp_path / f"{i}.png")
    assert [int(f[0, 0, 0]) // 20 for f in load_frames(tmp_path)] == list(range(1, 13))
    m = np.zeros((12, 4, 4), np.uint8)
    for i in range(12):
        (tmp_path / f"{i + 1}.png").unlink()
        m[i, :, : i % 4 + 1] = 255
        Image.fromarray(m[i]).save(tmp_path / f"frame{i + 1}.png")
    assert torch.equal(load_mask(tmp_path, 12, 4, 4), torch.from_numpy(m / 255.0).float())


def test_a_mask_video_at_another_rate_is_matched_by_time(tmp_path):
    """A 24 fps mask video for a 12 fps clip: video frame i takes the mask frame nearest its
    time, 2i (matching by index cut the mask's motion to its first half)."""
    mask = np.zeros((36, 32, 48, 3), np.uint8)
    for i in range(36):
        mask[i, :, i] = 255  # frame i marks column i
    path = write_video(mask, tmp_path / "mask24.mp4", fps=24)
    m = load_mask(path, 18, 32, 48, fps=12)
    assert [int(m[i].sum(0).argmax()) for i in range(18)] == [2 * i for i in range(18)]
    same = load_mask(path, 18, 32, 48, fps=24)  # the same rate: frame by frame
    assert [int(same[i].sum(0).argmax()) for i in range(18)] == list(range(18))
    with pytest.raises(MediaError, match="lasts 1.50 s"):
        load_mask(path, 18, 32, 48, fps=6)  # 3 s of video


def test_transparent_masks_use_their_alpha(tmp_path):
    """An RGBA mask with transparency is its alpha channel, whatever colour lies under it (a
    stroke painted on a transparent layer); an opaque RGBA image is its colour."""
    from PIL import Image

    box = np.zeros((32, 48), bool)
    box[8:24, 12:36] = True
    for rgb in ((255, 255, 255), (0, 0, 0), (255, 0, 0)):
        a = np.zeros((32, 48, 4), np.uint8)
        a[..., :3] = rgb
        a[box, 3] = 255
        Image.fromarray(a, "RGBA").save(tmp_path / "stroke.png")
        assert torch.equal(load_mask(tmp_path / "stroke.png", 2, 32, 48)[0], torch.from_numpy(box).float()), rgb
        assert torch.equal(load_mask(a, 1, 32, 48)[0], torch.from_numpy(box).float())  # an array too
    opaque = np.full((32, 48, 4), 255, np.uint8)
    opaque[..., :3] = 0
    opaque[box, :3] = 255
    Image.fromarray(opaque, "RGBA").save(tmp_path / "opaque.png")
    assert torch.equal(load_mask(tmp_path / "opaque.png", 1, 32, 48)[0], torch.from_numpy(box).float())


def test_an_empty_mask_is_refused_when_asked():
    red = np.zeros((32, 48, 3), np.uint8)
    red[8:24, 12:36] = (255, 0, 0)  # mean of R, G, B: 1/3
    assert load_mask(red, 1, 32, 48).sum() == 0  # the library's default: an empty mask
    with pytest.raises(MediaError, match=r"empty after thresholding at 0.5; its highest level is 0.33"):
        load_mask(red, 1, 32, 48, allow_empty=False)
    assert load_mask(red, 1, 32, 48, soft=True, allow_empty=False).max() == pytest.approx(1 / 3)
    with pytest.raises(MediaError, match="inverted mask is empty"):
        load_mask(None, 1, 32, 48, invert=True, allow_empty=False)
