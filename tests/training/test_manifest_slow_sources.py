"""A source slower than data.fps is read frame by frame and each frame trained as 1/data.fps s:
its motion plays faster than real time. It was silent; one warning now gives the count, the
speed-up and how to leave such clips out. They are kept."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pandas as pd

from video.training.data import ManifestClips


def source(path, fps: int, frames: int = 20) -> str:
    rng = np.random.default_rng(fps)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", "32x32", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
                   input=rng.integers(0, 255, (frames, 32, 32, 3), dtype=np.uint8).tobytes(), check=True)
    return str(path)


def test_slower_sources_are_said_once_and_kept(tmp_path, capsys):
    rates = [5, 4, 8, 24, 5]
    srcs = [source(tmp_path / f"s{j}.mp4", r) for j, r in enumerate(rates)]
    path = tmp_path / "manifest.parquet"
    pd.DataFrame({"source": srcs, "start_frame": [0] * 5, "end_frame": [20] * 5, "fps": [float(r) for r in rates],
                  "width": [32] * 5, "height": [32] * 5, "keep": [True] * 5}).to_parquet(path)
    clips = ManifestClips(path, frames=4, height=16, width=16, fps=8.0)
    assert len(clips) == 5
    assert capsys.readouterr().out.splitlines() == [
        f"warning: {path}: 3 of 5 clips come from sources slower than data.fps=8 (down to 4 fps): each of their "
        "frames is trained as 1/8 s, so they play 1.6x to 2x faster than real time; lower data.fps, or leave them "
        "out with data.where=\"fps >= 8\""]
    assert clips[1]["video"].shape == (4, 3, 16, 16)
    ManifestClips(path, frames=4, height=16, width=16, fps=4.0)  # none slower than 4 fps: nothing said
    assert capsys.readouterr().out == ""
