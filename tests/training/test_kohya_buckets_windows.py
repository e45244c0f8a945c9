"""Kohya folders: a clip's frame count comes from its header at every load (a WebM stores none,
and counting it decoded the whole file at each load: 0.49 s for a 30 s clip, where an MP4
took 0.20 s); a clip's window can be drawn anywhere in it (``clip_window="random"``, as
manifest clips read it; ``start``, the default here, takes its first frames); and items have
sizes, so ``data.buckets`` works with ``data.kind=kohya`` (it was refused: "has no per-item
sizes"): an image is a still of ``data.frames`` frames at the size it shows at, a clip its
frames at ``fps`` at the size it shows at (upright, an anamorphic one stretched by its SAR,
as it is then loaded)."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from video.config import load_config
from video.training.buckets import Bucketed
from video.training.config import TrainConfig
from video.training.kohya import KohyaFolder
from video.training.tasks import make_dataset

FRAMES = 40  # frame k of the numbered clip is a flat grey of level 20 + 5k
RED, GREEN, BLUE = (220, 30, 30), (30, 200, 30), (30, 30, 220)


def ffmpeg_raw(path, frames: np.ndarray, *args: str) -> None:
    """uint8 (F, H, W, 3) frames at 8 fps, encoded by ffmpeg with ``args`` (codec and filters)."""
    f, h, w, _ = frames.shape
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", f"{w}x{h}", "-r", "8", "-i", "-", *args, str(path)], input=frames.tobytes(), check=True)


def numbered(path) -> None:
    levels = (20 + 5 * np.arange(FRAMES)).astype(np.uint8)
    frames = np.broadcast_to(levels[:, None, None, None], (FRAMES, 32, 32, 3)).copy()
    codec = ["-c:v", "libvpx", "-crf", "4", "-b:v", "4M"] if path.suffix == ".webm" else \
        ["-c:v", "libx264", "-crf", "4"]
    ffmpeg_raw(path, frames, *codec, "-pix_fmt", "yuv420p")


def indices(item: dict) -> list[int]:
    """The source frame each frame of a loaded item is (from its grey level)."""
    levels = (item["video"].mean(dim=(1, 2, 3)) + 1) * 127.5
    return [round((float(v) - 20) / 5) for v in levels]


@pytest.mark.parametrize("suffix", [".mp4", ".webm"])
def test_windows_start_at_the_first_frame_or_anywhere_the_clip_fits(tmp_path, suffix):
    numbered(tmp_path / "3_clip" / f"n{suffix}")
    start = KohyaFolder(tmp_path, frames=4, height=16, width=16, fps=8.0, seed=7)
    assert [indices(start[i]) for i in range(3)] == [[0, 1, 2, 3]] * 3  # the default: the first frames
    ds = KohyaFolder(tmp_path, frames=4, height=16, width=16, fps=8.0, seed=7, clip_window="random")
    firsts = []
    for step in range(30):
        ds.set_step(step)
        got = indices(ds[step % 3])
        assert got == list(range(got[0], got[0] + 4))  # consecutive frames at the clip's 8 fps
        firsts.append(got[0])
    assert min(firsts) >= 0 and max(firsts) <= FRAMES - 4 and len(set(firsts)) >= 12
    again = KohyaFolder(tmp_path, frames=4, height=16, width=16, fps=8.0, seed=7, clip_window="random")
    for step in (4, 17):  # a function of (seed, step, item): a resume reads the same windows
        again.set_step(step)
        assert indices(again[step % 3])[0] == firsts[step]
    with pytest.raises(ValueError, match="data.clip_window must be random or start; got 'middle'"):
        KohyaFolder(tmp_path, frames=4, height=16, width=16, clip_window="middle")


def test_a_webm_is_not_decoded_whole_to_count_it(tmp_path, monkeypatch):
    import video.media

    numbered(tmp_path / "2_clip" / "n.webm")
    ds = KohyaFolder(tmp_path, frames=4, height=16, width=16, fps=8.0)
    calls, probe = [], video.media.probe_video

    def counted(path, count=True):
        calls.append(count)
        return probe(path, count)

    monkeypatch.setattr(video.media, "probe_video", counted)
    assert probe(tmp_path / "2_clip" / "n.webm")["num_frames"] == FRAMES  # the count the header estimates
    calls.clear()
    assert [indices(ds[i]) for i in (0, 1, 0)] == [[0, 1, 2, 3]] * 3
    assert calls == [False]  # its first frame once (for its rotation), never the whole file


@pytest.fixture
def mixed(tmp_path):
    """``2_mix/``: a wide image, an anamorphic clip (64x64 stored, SAR 2:1: shown 128x64; stored
    columns 0-15 red, 16-47 green, 48-63 blue, so its shown centre square is green) and a clip
    a phone turned (coded 64x32 with a 90 degree rotation: shown 32x64)."""
    mix = tmp_path / "2_mix"
    frame = np.zeros((64, 64, 3), np.uint8)
    frame[:, :16], frame[:, 16:48], frame[:, 48:] = RED, GREEN, BLUE
    ffmpeg_raw(mix / "anamorphic.mp4", np.stack([frame] * 16), "-vf", "setsar=2/1", "-c:v", "libx264", "-pix_fmt",
               "yuv420p")
    ffmpeg_raw(tmp_path / "coded.mp4", np.zeros((16, 32, 64, 3), np.uint8), "-c:v", "libx264", "-pix_fmt", "yuv420p")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", "90", "-i",
                    str(tmp_path / "coded.mp4"), "-c", "copy", str(mix / "turned.mp4")], check=True)
    (tmp_path / "coded.mp4").unlink()
    Image.new("RGB", (64, 32), (200, 200, 200)).save(mix / "wide.png")
    return tmp_path


def test_items_have_their_shown_sizes_and_go_to_buckets(mixed):
    ds = KohyaFolder(mixed, frames=4, height=32, width=32, fps=8.0)
    assert [p.name for p, _ in ds.files] == ["anamorphic.mp4", "turned.mp4", "wide.png"]
    assert [ds.native_size(i) for i in range(len(ds))] == [(16, 64, 128)] * 2 + [(16, 64, 32)] * 2 + [(4, 32, 64)] * 2
    data = Bucketed(ds, [[32, 64], [32, 32], [64, 32]], [1, 4, 8])
    assert data.keys == [(8, 32, 64)] * 2 + [(8, 64, 32)] * 2 + [(4, 32, 64)] * 2
    assert [tuple(data[j]["video"].shape) for j in (0, 2, 4)] == [(8, 3, 32, 64), (8, 3, 64, 32), (4, 3, 32, 64)]
    rgb = ((data[0]["video"][0] + 1) * 127.5).permute(1, 2, 0).numpy()[:, 16:48]  # the centre of what is shown
    assert np.abs(rgb - np.array(GREEN)).max() < 40  # stretched as shown: no red or blue in the middle half


def test_data_buckets_with_a_kohya_folder_from_the_config(mixed):
    c = load_config(TrainConfig, "configs/train/dit_stage2_video.yaml",
                    ["data.kind=kohya", f"data.path={mixed}", "data.frames=4", "data.buckets=[[32,64],[64,32]]"])
    data = make_dataset(c)
    assert isinstance(data, Bucketed) and len(data) == 6
    assert data.describe().endswith("buckets (frames x height x width: items) 4x32x64: 4, 4x64x32: 2")
