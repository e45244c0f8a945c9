"""``video eval --reference <curate manifest>`` reads an anamorphic clip as training reads it:
scaled as shown (its pixel aspect, from training's own reader, in training's one resize), so a
render that is exactly its training target scores as such (ignoring the SAR, 12.86 dB), and the
clip's size as shown is its width times its pixel aspect. Real media: a 96x48 SAR 2:1 source
through a real ``curate run``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch


def ffmpeg(*args: str, data: bytes | None = None) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *args], input=data, check=True)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """``curate run`` (quick recipe, clips by reference) over one 3 s 96x48 source whose pixels
    are twice as wide as tall (shown 192x48)."""
    from data_curation.cli import main

    d = tmp_path_factory.mktemp("anamorphic")
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=96x48:rate=12:duration=3", "-vf", "setsar=2", "-c:v", "libx264",
           "-qp", "0", "-pix_fmt", "yuv444p", str(d / "wide.mp4"))
    assert main(["run", str(d / "wide.mp4"), "--out", str(d / "out"), "--recipe", "quick", "--workers", "0",
                 "--quiet"]) == 0
    return d / "out" / "manifest.parquet"


def _training_target(manifest: Path, height: int, width: int) -> np.ndarray:
    """Row 0's first 8 frames as training loads them at (height, width), as a render's 8-bit frames."""
    from video.training.data import ManifestClips

    ds = ManifestClips(manifest, frames=8, height=height, width=width, fps=12.0, clip_window="start")
    x = ds.load(0, 8, height, width)["video"]
    return ((x + 1) / 2 * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = ((a.astype(float) - b.astype(float)) ** 2).mean()
    return float("inf") if mse == 0 else float(10 * np.log10(255 ** 2 / mse))


def test_a_curated_anamorphic_clip_is_sized_as_shown(manifest):
    from eval.inputs import frame_size, index_videos

    (clip,) = index_videos(manifest).values()
    assert clip.pixel_aspect == 2.0
    assert frame_size(clip) == (48, 192)


@pytest.mark.parametrize("height,width", [(48, 48), (32, 32), (24, 64)])
def test_a_render_of_an_anamorphic_training_target_scores_as_the_target(manifest, height, width):
    from eval.inputs import align, index_videos, load_video

    gen = _training_target(manifest, height, width)
    ref = load_video(next(iter(index_videos(manifest).values())))
    g, r, notes = align(gen, ref.frames, 12.0, ref.fps, ref.pixel_aspect)
    assert len(g) == 8 and _psnr(g, r) > 40, notes
    assert f"reference resized from 96x48 (shown 192x48: its pixel aspect) to {width}x{height}" in notes


def test_video_eval_scores_it_as_the_target(manifest, tmp_path):
    """Through the runner (``evaluate`` reads and aligns the pair), not only ``align``: the
    render, named by the clip's id and written losslessly, scores above 40 dB."""
    import json

    from eval.inputs import index_videos
    from eval.runner import evaluate

    (clip_id,) = index_videos(manifest)
    gen = tmp_path / "gen"
    gen.mkdir()
    frames = _training_target(manifest, 48, 48)
    ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "48x48", "-r", "12", "-i", "-", "-c:v", "libx264rgb",
           "-qp", "0", "-pix_fmt", "rgb24", str(gen / f"{clip_id}.mp4"), data=np.ascontiguousarray(frames).tobytes())
    out = tmp_path / "o"
    evaluate(gen, reference=manifest, out=out, device="cpu")
    m = json.loads((out / "metrics.json").read_text())
    assert m["videos"][clip_id]["psnr"] > 40, m["videos"]
