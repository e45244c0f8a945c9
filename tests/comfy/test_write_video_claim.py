"""Write Video chooses its counter by listing the folder, so two runs at once (two ComfyUI
queues, a script beside the UI) choose the same one: the second to finish must take the next
counter, not silently replace the first one's video."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import video.media
from video.comfy import functions as F
from video.media import MediaError, read_video


def test_a_video_finished_meanwhile_under_the_same_counter_is_kept(tmp_path, monkeypatch):
    real = video.media.write_video
    theirs = tmp_path / "runs" / "clip_00001_.mp4"

    def other_writer_finishes_first(frames, path, **kw):
        real(np.full((2, 16, 16, 3), 200, np.uint8), theirs, fps=4)  # the concurrent run's video, same counter
        return real(frames, path, **kw)

    monkeypatch.setattr(video.media, "write_video", other_writer_finishes_first)
    out = F.write_video_file(torch.zeros(3, 16, 16, 3), 4.0, "runs/clip", output_dir=tmp_path)
    ours = tmp_path / "runs" / "clip_00002_.mp4"
    assert out["result"] == (str(ours),) and out["ui"]["images"][0]["filename"] == ours.name
    assert len(read_video(theirs)) == 2 and read_video(theirs).mean() > 150  # theirs intact
    assert len(read_video(ours)) == 3 and read_video(ours).mean() < 50
    assert sorted(p.name for p in theirs.parent.iterdir()) == ["clip_00001_.mp4", "clip_00002_.mp4"]


def test_a_failed_write_leaves_no_name_taken(tmp_path, monkeypatch):
    def fails(frames, path, **kw):
        path.write_bytes(b"half")
        raise MediaError("ffmpeg failed writing clip_00001_.mp4: killed")

    monkeypatch.setattr(video.media, "write_video", fails)
    with pytest.raises(MediaError, match="killed"):
        F.write_video_file(torch.zeros(3, 16, 16, 3), 4.0, "clip", output_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # no placeholder, no hidden temporary
    monkeypatch.undo()
    assert F.write_video_file(torch.zeros(3, 16, 16, 3), 4.0, "clip", output_dir=tmp_path)["result"] == (
        str(tmp_path / "clip_00001_.mp4"),)
