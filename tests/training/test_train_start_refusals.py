"""What a run refuses at its start, the dry run refuses too, and a fresh run refused for its
data leaves no folder. ``video train --dry-run`` builds a manifest's loader as the run does
(no media decoded): a manifest whose every media file is missing, or whose ``data.where``
keeps no clip, passed it (rc 0) and the run then stopped at once. A fresh run over clips that
are all corrupt read them only at step 1, after config.yaml, metrics.jsonl and a TensorBoard
file were in ``out``; it now reads its first item before it makes the folder."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from video.config import load_config
from video.training.config import TrainConfig
from video.training.data_checks import check_data
from video.training.trainer import train

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def manifest(folder, name: str, clips: str, n: int = 5):
    """A curate-style manifest of ``n`` kept clips: ``good`` (real 12-frame videos), ``corrupt``
    (files no decoder opens) or ``missing`` (relative sources that are not there)."""
    from data_curation.manifest import RUN_DIR_KEY, to_table, write_atomic
    from video.media import write_video

    rows = []
    for j in range(n):
        row = {"source": f"src/nothere{j}.mp4", "clip_id": f"{name}{j}", "start_frame": 0, "end_frame": 12,
               "fps": 8.0, "width": 32, "height": 32, "num_frames": 12, "keep": True, "error": None,
               "caption": f"clip {j}", "motion_mean": float(j)}
        if clips != "missing":
            path = folder / "clips" / f"{name}{j}.mp4"
            write_video(np.full((12, 32, 32, 3), 40 * j, np.uint8), path, fps=8)
            if clips == "corrupt":
                path.write_bytes(b"not a video")
            row["clip_path"] = str(path)
        rows.append(row)
    out = folder / f"{name}.parquet"
    write_atomic(to_table(rows, {"motion_mean": "float64"}), out, {RUN_DIR_KEY: str(folder)})
    return out


def cfg(out, path, *overrides):
    return load_config(TrainConfig, "configs/train/dit_stage2_video.yaml", [
        "init_from=", f"out={out}", "data.kind=manifest", f"data.path={path}", "data.frames=4", "data.height=32",
        "data.width=32", "batch_size=2", "steps=3", "ckpt_every=1", "sample_every=0", *overrides])


@pytest.mark.parametrize("case", ["all files missing", "where keeps nothing"])
def test_the_dry_run_refuses_what_the_run_refuses_at_its_start(tmp_path, case):
    if case == "all files missing":
        c = cfg(tmp_path / "run", manifest(tmp_path, "m", "missing"))
        kind, said = FileNotFoundError, r"m\.parquet: 5 of 5 clips' media files are not found \(the first: src/nothere0"
    else:
        c = cfg(tmp_path / "run", manifest(tmp_path, "m", "good"), "data.where=motion_mean > 1000")
        kind, said = ValueError, r"m\.parquet: no kept clips matching motion_mean > 1000$"
    with pytest.raises(kind, match=said) as dry:
        check_data(c)
    with pytest.raises(kind) as run:  # the reference: the run itself
        train(c, progress=False)
    assert str(dry.value) == str(run.value)
    assert not (tmp_path / "run").exists()


def test_the_dry_run_passes_what_the_run_starts_on_and_keeps_stdout_the_config(tmp_path, capsys):
    m = manifest(tmp_path, "m", "good")
    (tmp_path / "clips" / "m0.mp4").unlink()  # one of five missing: the run warns and goes on
    check_data(cfg(tmp_path / "run", m, "data.where=motion_mean >= 0"))
    out, err = capsys.readouterr()
    assert out == ""  # a dry run's stdout is the config alone
    assert "warning: " in err and "1 of 5 clips' media files are not found" in err


def test_the_cli_dry_run_says_it_in_one_line(tmp_path):
    m = manifest(tmp_path, "m", "missing")
    p = subprocess.run([sys.executable, "-m", "video.cli", "train", "dit_stage2_video", "data.kind=manifest",
                        f"data.path={m}", "init_from=null", f"out={tmp_path / 'run'}", "--dry-run"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert (p.returncode, p.stdout) == (2, "")
    assert p.stderr.startswith(f"error: {m}: 5 of 5 clips' media files are not found") and p.stderr.count("\n") == 1
    assert not (tmp_path / "run").exists()


def test_a_fresh_run_on_clips_all_unreadable_leaves_no_folder(tmp_path):
    c = cfg(tmp_path / "runs" / "x", manifest(tmp_path, "m", "corrupt"))
    with pytest.raises(ValueError, match=r"^no readable item left to replace item \d \(5 unreadable, "):
        train(c, progress=False)
    assert not (tmp_path / "runs").exists()  # nor the parent the run would have made
    (tmp_path / "mine").mkdir()  # a folder the user made: kept, and nothing written into it
    with pytest.raises(ValueError, match="no readable item left"):
        train(cfg(tmp_path / "mine", c.data.path), progress=False)
    assert list((tmp_path / "mine").iterdir()) == []


def test_a_resumed_run_keeps_its_folder_when_its_clips_became_unreadable(tmp_path):
    m = manifest(tmp_path, "m", "good")
    run = tmp_path / "run"
    train(cfg(run, m), progress=False, stop_after=1)
    before = sorted(p.relative_to(run) for p in run.rglob("*"))
    assert run / "checkpoints" / "step_0000001" in [run / p for p in before]
    for clip in (tmp_path / "clips").iterdir():
        clip.write_bytes(b"not a video")
    with pytest.raises(ValueError, match="no readable item left"):
        train(cfg(run, m), progress=False)
    assert set(before) <= {p.relative_to(run) for p in run.rglob("*")}  # every file it had is still there
