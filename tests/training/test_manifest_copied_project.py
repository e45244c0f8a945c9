"""A project copied with its curate OUT inside it (``cp -r proj copy``, the original left in
place) trains on the copy's files: its manifest records both the folder curate ran in
(absolute: the original) and that folder from OUT (``..``), and the absolute one came first,
so the copy read the original's sources and clips, and an edit in the copy changed nothing.
The manifest's own project now comes first; a moved project finds its files either way
(tests/training/test_manifest_moved_project.py)."""

from __future__ import annotations

import shutil
import subprocess

import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest

from data_curation.manifest import media_bases
from video.training.data import ManifestClips


def write(path, frames: np.ndarray) -> None:
    """uint8 (F, 48, 64, 3) frames as an 8 fps H.264 file, by ffmpeg."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", "64x48", "-r", "8", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
                   input=frames.tobytes(), check=True)


def stripes(frames: int = 24) -> np.ndarray:
    """A stripe pattern panning 2 px a frame: one shot that curate keeps."""
    x = np.arange(64)
    return np.stack([np.broadcast_to((127 + 100 * np.sin((x + 2 * t) / 5))[None, :, None], (48, 64, 3))
                     for t in range(frames)]).astype(np.uint8)


def flat(frames: int = 24) -> np.ndarray:
    return np.full((frames, 48, 64, 3), 200, np.uint8)


@pytest.fixture(params=["by reference", "extracted, OUT relative", "extracted, OUT absolute"])
def copied(request, tmp_path, monkeypatch):
    """``curate run raw --out cur`` in ``proj/`` (clips extracted or not, OUT as given), then
    ``proj/`` copied to ``copy/`` and the copy's media replaced by a flat grey picture; returns
    the copy."""
    from data_curation.engine import run

    proj = tmp_path / "proj"
    write(proj / "raw" / "pan.mp4", stripes())
    monkeypatch.chdir(proj)
    extract = request.param != "by reference"
    out = str(proj / "cur") if request.param.endswith("absolute") else "cur"
    summary = run(["raw"], out, "quick", [f"split.extract={str(extract).lower()}"], workers=0, progress=False)
    assert summary["kept"] == 1, summary
    rows = pd.read_parquet(proj / "cur" / "manifest.parquet")
    assert rows["source"].tolist() == ["raw/pan.mp4"]
    assert rows["clip_path"].notna().tolist() == [extract]
    if request.param.endswith("absolute"):
        assert rows["clip_path"].tolist()[0].startswith(str(proj))  # the original's clip, by its absolute path
    copy = tmp_path / "copy"
    shutil.copytree(proj, copy)
    write(copy / "raw" / "pan.mp4", flat())  # the copy's media differ from the original's
    if extract:
        for f in (copy / "cur" / "clips").iterdir():
            write(f, flat(int(rows["num_frames"].tolist()[0])))
    return copy


@pytest.mark.parametrize("where", ["in the copy", "elsewhere"])
def test_a_copied_project_reads_its_own_files(copied, tmp_path, monkeypatch, where):
    if where == "in the copy":
        monkeypatch.chdir(copied)
        path = "cur"
    else:
        (tmp_path / "elsewhere").mkdir()
        monkeypatch.chdir(tmp_path / "elsewhere")
        path = copied / "cur"
    assert media_bases(copied / "cur" / "manifest.parquet")[0] == copied
    clips = ManifestClips(path, frames=4, height=16, width=16)
    assert clips.media_path(0).resolve().is_relative_to(copied)
    video = clips[0]["video"]  # the copy's flat grey (the original's stripes vary by about 0.7)
    assert float(video.std()) < 0.02 and abs(float(video.mean()) - (200 / 127.5 - 1)) < 0.03


def test_the_original_still_reads_its_own(copied, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path / "proj")
    clips = ManifestClips("cur", frames=4, height=16, width=16)
    assert clips.media_path(0).resolve().is_relative_to(tmp_path / "proj")
    assert float(clips[0]["video"].std()) > 0.3
