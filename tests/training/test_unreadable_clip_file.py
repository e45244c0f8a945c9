"""An extracted clip that no decoder can open (a cut-off copy, a failed export) is an
unreadable item like a broken image: replaced by the next readable clip with a warning, whether
decord (which says a bare RuntimeError) or PyAV reads it."""

from __future__ import annotations

import numpy as np
import pytest

from video.media import MediaError
from video.training.data import ManifestClips, read_frames
from video.training.loading import ItemLoader


def test_a_clip_no_decoder_opens_is_replaced(tmp_path, capsys):
    from data_curation.manifest import RUN_DIR_KEY, to_table, write_atomic
    from video.media import write_video

    out = tmp_path / "curated"
    rows = []
    for j in range(2):
        path = write_video(np.full((4, 32, 32, 3), 60 * j, np.uint8), out / "clips" / f"c{j}.mp4", fps=8)
        rows.append({"source": "src.mp4", "clip_id": f"c{j}", "clip_path": str(path), "start_frame": 0,
                     "end_frame": 4, "fps": 8.0, "width": 32, "height": 32, "num_frames": 4, "keep": True,
                     "error": None, "caption": f"clip {j}"})
    (out / "clips" / "c0.mp4").write_bytes(b"not a video")
    write_atomic(to_table(rows, {}), out / "manifest.parquet", {RUN_DIR_KEY: str(tmp_path)})
    with pytest.raises(MediaError, match=r"c0\.mp4: not a readable video"):
        read_frames(out / "clips" / "c0.mp4", [0])
    item = ItemLoader(ManifestClips(out / "manifest.parquet", 1, 16, 16))(0)
    assert item["caption"] == "clip 1"
    assert "warning: item 0 is unreadable" in capsys.readouterr().out
