"""A clip file is extracted under a temporary name with the writer's process id, as Parquet
temporaries are: the tasks of a killed Ray run go on for a while, and a rerun's task wrote the
same fixed ``.STEM.partial.mp4`` at once. Temporaries a killed writer left are deleted when the
clip is extracted again; a running writer's are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import data_curation.split as split
from data_curation.engine import run
from data_curation.manifest import part_path
from data_curation.split import CLIP_TEMP, clip_temp, extract_clip
from video.media import ffmpeg_exe, probe_video


@pytest.fixture(scope="module")
def clip_src(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip_temp") / "src.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=64x48:rate=10:duration=2", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_the_temporary_name_has_the_process_id(clip_src, tmp_path, monkeypatch):
    renamed = []
    real = os.replace

    def spy(a, b):  # records the rename extract_clip makes, and makes it
        renamed.append(Path(a).name)
        real(a, b)

    monkeypatch.setattr(split.os, "replace", spy)
    dest, _ = extract_clip(clip_src, 0, 10, 10.0, tmp_path / "c.mp4")
    assert renamed == [f".c.{os.getpid()}.partial.mp4"] == [clip_temp(dest).name]
    assert CLIP_TEMP.fullmatch(renamed[0])["pid"] == str(os.getpid())
    other = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                            "from data_curation.split import clip_temp; print(clip_temp(Path(sys.argv[1])).name)",
                            str(dest)], capture_output=True, text=True, check=True).stdout.strip()
    assert other != renamed[0] and CLIP_TEMP.fullmatch(other)  # another process: another temporary


def test_a_dead_writers_temporary_goes_and_a_running_ones_stays(clip_src, tmp_path):
    dead = tmp_path / f".c.{_dead_pid()}.partial.mp4"
    legacy = tmp_path / ".c.partial.mp4"  # the old fixed name: the engine's leftover check removes it
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live_writer:
        try:
            live = tmp_path / f".c.{live_writer.pid}.partial.mp4"
            other_clip = tmp_path / f".d.{_dead_pid()}.partial.mp4"  # another clip's: left to its own extraction
            for f in (dead, legacy, live, other_clip):
                f.write_bytes(b"half a clip")
            dest, _ = extract_clip(clip_src, 0, 10, 10.0, tmp_path / "c.mp4")
            assert probe_video(dest)["num_frames"] == 10
            assert not dead.exists()
            assert live.read_bytes() == legacy.read_bytes() == other_clip.read_bytes() == b"half a clip"
        finally:
            live_writer.kill()


def test_a_rerun_after_a_killed_extraction_removes_its_temporary(tmp_path, pan, monkeypatch):
    src = pan(tmp_path / "a.mp4")
    out = tmp_path / "out"
    recipe = ["split.extract=true", "split.min_s=1", "split.max_s=1", "rules=[]"]
    run([str(src)], out, "quick", recipe, workers=0, progress=False)
    clips = sorted((out / "clips").iterdir())
    killed = clips[0].with_name(f".{clips[0].stem}.{_dead_pid()}.partial.mp4")
    killed.write_bytes(b"half a clip")  # the run was killed while extracting: no part, a temporary
    part_path(out, src).unlink()
    monkeypatch.setattr(split, "_LISTED", {})  # the rerun is a new process: it lists OUT/clips afresh
    s = run([str(src)], out, "quick", recipe, workers=0, progress=False)
    assert s["processed"] == 1 and sorted((out / "clips").iterdir()) == clips
