"""Manifest items read a window of their clip drawn anew each step (``data.clip_window=random``,
the default), seeded by (run seed, step, item): training saw only each clip's first frames
(a 9-frame window of a 95-frame span: its first 27%, every epoch; an image stage the first
frame alone). ``data.clip_window=start`` keeps that; a resume, and loader threads, read the
same windows as an uninterrupted run."""

from __future__ import annotations

import subprocess
import threading

import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest
import torch

from video.config import load_config
from video.training.config import TrainConfig
from video.training.data import ManifestClips

FRAMES = 40  # frame k of the source is a flat grey of level 20 + 5k, so a decoded frame says its index


def numbered_source(path) -> None:
    levels = (20 + 5 * np.arange(FRAMES)).astype(np.uint8)
    frames = np.broadcast_to(levels[:, None, None, None], (FRAMES, 32, 32, 3)).copy()
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", "32x32", "-r", "8", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "4",
                    str(path)], input=frames.tobytes(), check=True)


@pytest.fixture
def manifest(tmp_path):
    numbered_source(tmp_path / "src.mp4")
    path = tmp_path / "manifest.parquet"
    pd.DataFrame({"source": [str(tmp_path / "src.mp4")] * 2, "start_frame": [0, 0], "end_frame": [FRAMES] * 2,
                  "fps": [8.0] * 2, "width": [32] * 2, "height": [32] * 2, "keep": [True] * 2,
                  "caption": ["a", "b"]}).to_parquet(path)
    return path


def indices(item: dict) -> list[int]:
    """The source frame each frame of a loaded item is (from its grey level)."""
    levels = (item["video"].mean(dim=(1, 2, 3)) + 1) * 127.5
    return [round((float(v) - 20) / 5) for v in levels]


def firsts(clips: ManifestClips, steps: range, i: int = 0) -> list[int]:
    out = []
    for step in steps:
        clips.set_step(step)
        got = indices(clips[i])
        assert got == list(range(got[0], got[0] + clips.frames))  # consecutive frames at the source's 8 fps
        out.append(got[0])
    return out


def test_random_windows_cover_the_clip_and_repeat_per_step(manifest):
    clips = ManifestClips(manifest, frames=3, height=16, width=16, fps=8.0, seed=7)
    starts = firsts(clips, range(40))
    assert min(starts) >= 0 and max(starts) <= FRAMES - 3  # every window fits in the span
    assert len(set(starts)) >= 15 and max(starts) >= 30  # spread over the clip, not its first frames
    again = ManifestClips(manifest, frames=3, height=16, width=16, fps=8.0, seed=7)
    assert firsts(again, [11, 3, 27]) == [starts[11], starts[3], starts[27]]  # a function of the step alone
    assert firsts(clips, range(10), i=1) != starts[:10]  # items of one step draw their own windows


def test_an_image_stage_takes_any_frame(manifest):
    clips = ManifestClips(manifest, frames=1, height=16, width=16, fps=8.0)
    assert len(set(firsts(clips, range(30)))) >= 12


def test_start_keeps_the_first_frames(manifest):
    clips = ManifestClips(manifest, frames=3, height=16, width=16, fps=8.0, clip_window="start")
    assert set(firsts(clips, range(10))) == {0}


def test_loader_threads_read_the_step_they_set(manifest):
    clips = ManifestClips(manifest, frames=3, height=16, width=16, fps=8.0)
    want = {s: firsts(clips, [s])[0] for s in (4, 9)}
    got = {}

    def load(step):
        clips.set_step(step)
        got[step] = indices(clips[0])[0]

    threads = [threading.Thread(target=load, args=(s,)) for s in (4, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == want


def test_a_resumed_run_trains_the_same_windows(manifest, tmp_path):
    from video.training.trainer import train

    def cfg(out, *more):  # 6 steps, stopped at 4: no export or preview to wait for
        return load_config(TrainConfig, "configs/train/dit_stage2_video.yaml", [
            "init_from=", "data.kind=manifest", f"data.path={manifest}", f"out={out}", "steps=6", "batch_size=1",
            "data.frames=5", "data.height=16", "data.width=16", "ckpt_every=2", "log_every=1", *more])

    whole = train(cfg(tmp_path / "whole"), progress=False, stop_after=4)["losses"]
    first = train(cfg(tmp_path / "split"), progress=False, stop_after=2)["losses"]
    rest = train(cfg(tmp_path / "split", "num_workers=2"), progress=False, stop_after=4)["losses"]
    assert len(whole) == 4 and torch.allclose(torch.tensor(whole), torch.tensor(first + rest), rtol=1e-5, atol=1e-6)


def test_the_key_is_checked():
    from video.config import ConfigError

    with pytest.raises(ConfigError, match=r"config key 'data.clip_window': must be random or start; got 'middle'"):
        load_config(TrainConfig, None, ["data.clip_window=middle"])


def test_the_latent_cache_stores_first_windows(manifest, tmp_path, capsys):
    """One encoded window per clip: its first frames, whatever data.clip_window says (a note
    says so), so training from the cache equals raw training with data.clip_window=start."""
    from safetensors.torch import load_file

    from video.training.cache import build_latent_cache

    cfg = load_config(TrainConfig, "configs/train/stage2_video.yaml", [
        "init_from=", "data.kind=manifest", f"data.path={manifest}", "data.frames=3", "seed=7"])
    cache = build_latent_cache(cfg, tmp_path / "cache", shard_size=8, progress=False)
    assert "note: the latent cache stores one window per clip, its first frames" in capsys.readouterr().out
    first = load_file(str(cache / "shard_00000.safetensors"))["first"]  # each clip's clean first frame
    assert [round((float((f.mean() + 1) * 127.5) - 20) / 5) for f in first] == [0, 0]
