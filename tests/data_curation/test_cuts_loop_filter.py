"""Reference frames are decoded with their loop filter (review: ``curate cuts`` cut a 20 s
testsrc2 clip, one shot, at its only keyframe, frame 250, in every ``--decode`` mode). Without
deblocking each P-frame predicts from its reference's unfiltered blocks, so the picture drifts
from the encoder's over a GOP, 3-6 luma levels by its end, and snaps back at the next IDR
picture: one step the size of a cut. A small, low-bitrate clip with three GOPs shows it."""

from __future__ import annotations

import subprocess
import zlib

import numpy as np
import pytest
from scenedetect import ContentDetector, detect

from data_curation.cut_features import _open
from data_curation.cuts import CutParams, detect_shots
from video.media import ffmpeg_exe

FRAMES, GOP = 150, 50


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory):
    """lavfi's testsrc2 (one shot), 128x96 at x264 CRF 36, an IDR picture every 50 frames."""
    path = tmp_path_factory.mktemp("loop_filter") / "gop.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=128x96:rate=25",
                    "-frames:v", str(FRAMES), "-c:v", "libx264", "-preset", "veryfast", "-crf", "36",
                    "-g", str(GOP), "-pix_fmt", "yuv420p", str(path)], check=True, timeout=60)
    return str(path)


def _luma_crcs(frames) -> dict[int, int]:
    out = {}
    for f in frames:
        p = f.planes[0]
        y = np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[:f.height, :f.width]
        out[f.pts] = zlib.crc32(np.ascontiguousarray(y))
    return out


def test_reference_frames_decode_as_a_player_shows_them(long_gop):
    """Every frame the sparse modes decode (the reference frames, ``NONREF``) is bit for bit
    what a decoder with FFmpeg's defaults shows (unfiltered, every one of them differed)."""
    import av

    with av.open(long_gop) as c:
        plain = _luma_crcs(c.decode(c.streams.video[0]))
    c, s = _open(long_gop, "NONREF")
    with c:
        ours = _luma_crcs(c.decode(s))
    assert len(ours) >= FRAMES // 2 and set(ours) <= set(plain)
    assert {t: plain[t] for t in ours} == ours


def test_long_gop_clip_is_one_shot_in_every_mode(long_gop):
    """One shot in every mode, as PySceneDetect finds (no cut at frames 50 or 100)."""
    assert [s.frame_num for s, _ in detect(long_gop, ContentDetector())[1:]] == []
    for mode in ("all", "ref", "auto"):
        for threads in (1, 2):
            assert detect_shots(long_gop, CutParams(decode=mode, threads=threads)).shots == [[0, FRAMES]], \
                (mode, threads)
