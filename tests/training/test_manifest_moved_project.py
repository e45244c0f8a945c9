"""A manifest's relative media paths are relative to the folder ``curate run`` ran in. They are
found again when the project moved with OUT inside it (the manifest records where that folder
is from OUT); a manifest re-saved by pandas (which drops that record) still trains from the
folder curate ran in, and from anywhere else is refused in one line before the run folder is
made, naming the count, the first path, the folders looked in and the two ways out (it failed
at the first step, after config.yaml was written, as "decoding frames 0..7 failed"). A file
that is not there is "file not found", not a decoding error."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pandas as pd
import pytest

from video.training.data import ManifestClips, read_frames
from video.training.loading import ItemLoader


def pan(path, frames: int = 24) -> None:
    """A stripe pattern panning 2 px a frame at 8 fps, written by ffmpeg: one shot, clear motion."""
    x = np.arange(64)
    f = np.stack([np.broadcast_to((127 + 100 * np.sin((x + 2 * t) / 5))[None, :, None], (48, 64, 3))
                  for t in range(frames)]).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                    "-s", "64x48", "-r", "8", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
                   input=f.tobytes(), check=True)


@pytest.fixture
def moved(tmp_path, monkeypatch):
    """``curate run raw --out cur`` run in ``proj/``, then ``proj/`` moved to ``moved/`` and the
    current folder ``elsewhere/``: returns the moved project folder."""
    from data_curation.engine import run

    pan(tmp_path / "proj" / "raw" / "pan.mp4")
    monkeypatch.chdir(tmp_path / "proj")
    summary = run(["raw"], "cur", "quick", workers=0, progress=False)
    assert summary["kept"] == 1, summary
    assert pd.read_parquet("cur/manifest.parquet")["source"].tolist() == ["raw/pan.mp4"]  # relative, as given
    (tmp_path / "proj").rename(tmp_path / "moved")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return tmp_path / "moved"


def test_a_moved_project_finds_its_sources(moved):
    clips = ManifestClips(moved / "cur", frames=4, height=16, width=16)
    assert clips.media_path(0).resolve() == (moved / "raw" / "pan.mp4").resolve()
    assert clips[0]["video"].shape == (4, 3, 16, 16)


def test_a_manifest_re_saved_by_pandas(moved, monkeypatch, cli, tmp_path):
    resaved = moved / "resaved" / "manifest.parquet"
    resaved.parent.mkdir()
    pd.read_parquet(moved / "cur" / "manifest.parquet").to_parquet(resaved)  # the curate metadata is gone
    with pytest.raises(FileNotFoundError) as e:
        ManifestClips(resaved, frames=4, height=16, width=16)
    assert str(e.value) == (
        f"{resaved}: 1 of 1 clips' media files are not found (the first: raw/pan.mp4; looked for in "
        f"{tmp_path / 'elsewhere'}, {resaved.parent}): run from the folder curate ran in, or store absolute paths")
    run = tmp_path / "run"
    p = cli("train", "dit_stage2_video", "init_from=", "data.kind=manifest", f"data.path={resaved}", f"out={run}",
            "steps=1", "data.frames=4", "data.height=16", "data.width=16")
    assert p.returncode == 2 and p.errors == [f"error: {e.value}"], p.stderr
    assert not run.exists()  # refused before the run folder (and its config.yaml) was made
    monkeypatch.chdir(moved)  # the folder curate ran in (moved with its files): found there
    assert ManifestClips(resaved, frames=4, height=16, width=16)[0]["video"].shape == (4, 3, 16, 16)


def test_a_missing_file_is_said_as_such(tmp_path, capsys):
    """A deleted source among found ones is a file that is gone, not a folder to run from: its
    clip is left out up front, counted, rather than replaced at each load by the next clip."""
    pan(tmp_path / "here.mp4")
    gone = tmp_path / "gone.mp4"
    path = tmp_path / "manifest.parquet"
    pd.DataFrame({"source": [str(gone), str(tmp_path / "here.mp4")], "start_frame": [0, 0], "end_frame": [24, 24],
                  "fps": [8.0, 8.0], "width": [64, 64], "height": [48, 48], "keep": [True, True]}).to_parquet(path)
    clips = ManifestClips(path, frames=4, height=16, width=16)
    assert capsys.readouterr().out.splitlines() == [
        f"warning: {path}: 1 of 2 clips' media files are not found: 1 file is missing ({gone}); that 1 clip is "
        "left out"]
    assert len(clips) == 1 and clips.media_path(0) == tmp_path / "here.mp4"
    assert clips.describe() == "manifest 1 clips; 1 whose media file is not found left out"
    with pytest.raises(Exception, match=rf"^{gone}: file not found$"):
        read_frames(gone, [0, 1], 8.0)
    ItemLoader(clips)(0)
    assert "unreadable" not in capsys.readouterr().out
