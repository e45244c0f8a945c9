import subprocess
from pathlib import Path

import numpy as np
import pytest

from data_curation.split import extract_clip, keyframes, plan_clips
from video.media import ffmpeg_exe, probe_video, read_video


def test_plan_clips_drops_short_and_splits_long():
    shots = [[0, 30], [30, 100], [100, 340]]  # 1.2 s, 2.8 s, 9.6 s at 25 fps: a 1.6 s tail
    assert plan_clips(shots, 25.0, min_s=2.0, max_s=4.0) == [(30, 100), (100, 200), (200, 300)]
    # the 55-frame tail (2.2 s) is kept when long enough; trimming shortens every shot
    assert plan_clips([[0, 255]], 25.0, 2.0, 4.0) == [(0, 100), (100, 200), (200, 255)]
    assert plan_clips([[0, 100]], 25.0, 2.0, 4.0, trim_s=0.5) == [(12, 88)]


def test_extract_stream_copy_at_keyframe_and_reencode_elsewhere(bikes, tmp_path):
    kf = set(keyframes(bikes))
    assert {0, 30, 76, 137, 187, 242} <= kf
    src = read_video(bikes)
    for start, end, method in [(76, 137, "copy"), (80, 120, "encode")]:
        path, used = extract_clip(bikes, start, end, 25.0, tmp_path / f"c{start}.mp4", kf)
        assert used == method
        assert probe_video(path)["num_frames"] == end - start
        got = read_video(path)
        err = np.abs(got[0].astype(int) - src[start].astype(int)).mean()
        assert err < 6, f"{method}: first frame differs from source frame {start} by {err}"
    assert not list(tmp_path.glob(".*partial*"))


def _grey(frame) -> np.ndarray:
    return np.asarray(frame.to_image().convert("L").resize((32, 24)), np.float32)


def _source_slots(path, fps: float) -> dict[int, np.ndarray]:
    """The source on its nominal frame grid, each slot holding the frame on screen then:
    the independent reference for what a clip [start, end) must show."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        t0, tb = s.start_time or 0, float(s.time_base)
        slots: dict[int, np.ndarray] = {}
        for f in c.decode(s):
            slots.setdefault(round((f.pts - t0) * tb * fps), _grey(f))
    for i in range(max(slots) + 1):
        if i not in slots:
            slots[i] = slots[i - 1]
    return slots


def _clip_error(clip, slots, start: int, end: int) -> float:
    import av

    with av.open(str(clip)) as c:
        got = [_grey(f) for f in c.decode(video=0)]
    assert len(got) == end - start
    return max(float(np.abs(g - slots[start + k]).mean()) for k, g in enumerate(got))


@pytest.fixture(scope="module")
def hard_sources(bikes, tmp_path_factory):
    """Files where cutting by packets or by ffmpeg's input seek went wrong: Matroska (seeks by
    cues landed a keyframe early), MPEG-TS (seeks past the target), ProRes (mp4 cannot hold
    it), and a variable-rate file (30 fps for 3 s, then 15 fps)."""
    d = tmp_path_factory.mktemp("hard")
    ff = [ffmpeg_exe(), "-y", "-loglevel", "error"]
    subprocess.run([*ff, "-i", bikes, "-c", "copy", str(d / "bikes.mkv")], check=True)
    subprocess.run([*ff, "-i", bikes, "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-f", "mpegts",
                    str(d / "bikes.ts")], check=True)
    subprocess.run([*ff, "-i", bikes, "-frames:v", "60", "-c:v", "prores_ks", str(d / "prores.mov")], check=True)
    subprocess.run([*ff, "-i", bikes, "-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-x264-params",
                    "keyint=25:min-keyint=25:scenecut=0", str(d / "no_b.mp4")], check=True)  # keyframes every 25
    subprocess.run([*ff, "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=3", "-f", "lavfi", "-i",
                    "mandelbrot=size=160x120:rate=15", "-filter_complex",
                    "[1:v]trim=duration=3,setpts=PTS-STARTPTS[b];[0:v][b]concat=n=2:v=1[v]", "-map", "[v]",
                    "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "veryfast", "-g", "30", str(d / "vfr.mp4")],
                   check=True)
    return {p.name: p for p in d.iterdir()}


def test_clips_hold_exactly_their_frames(bikes, hard_sources, tmp_path):
    """Every clip frame against the source's frame on the same grid slot, whichever way it
    was written: a keyframe start whose end falls inside a GOP with B-frames must not be
    copied (the copy dropped the last B-frames and took a later frame)."""
    cases = [(bikes, 76, 137, "copy"), (bikes, 76, 116, "encode"), (bikes, 80, 120, "encode"),
             (hard_sources["bikes.mkv"], 76, 137, "copy"), (hard_sources["bikes.mkv"], 137, 187, "copy"),
             (hard_sources["bikes.ts"], 200, 250, None), (hard_sources["bikes.ts"], 7, 30, "encode"),
             (hard_sources["prores.mov"], 10, 40, "encode"),  # every frame a keyframe; mp4 refuses ProRes
             (hard_sources["vfr.mp4"], 30, 110, "encode"),
             (hard_sources["no_b.mp4"], 25, 40, "copy")]  # no B-frames: a copy may end anywhere
    slots_of = {}  # a source's frames decoded once for all its cases
    for src, start, end, method in cases:
        fps = probe_video(src)["fps"]
        if src not in slots_of:
            slots_of[src] = _source_slots(src, fps)
        slots = slots_of[src]
        path, used = extract_clip(src, start, end, fps, tmp_path / f"{Path(src).stem}{start}.mp4",
                                  set(keyframes(src)))
        assert method is None or used == method, (src, start, used)
        err = _clip_error(path, slots, start, end)
        assert err < (0.01 if used == "copy" else 3.0), (src, start, end, used, err)
    assert not list(tmp_path.glob(".*partial*"))


def test_rotated_source_comes_out_upright(bikes, tmp_path):
    """A display rotation (how phones store portrait video) is applied, as ffmpeg shows the
    file, and the clip carries none: a copy would have kept it as metadata only."""
    import av

    rotated = tmp_path / "rotated.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", "90", "-i", bikes, "-c", "copy",
                    str(rotated)], check=True)
    shown = subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(rotated), "-frames:v", "1", "-f", "rawvideo",
                            "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    shown = np.frombuffer(shown, np.uint8).reshape(640, 272, 3).astype(int)  # ffmpeg turns it upright
    assert probe_video(rotated)["rotation"] == 90 and probe_video(bikes)["rotation"] == 0  # the manifest's column
    path, used = extract_clip(rotated, 0, 30, 25.0, tmp_path / "clip.mp4", set(keyframes(rotated)))
    assert used == "encode"
    with av.open(str(path)) as c:
        first = next(c.decode(video=0))
        assert (first.width, first.height) == (272, 640) and not (getattr(first, "rotation", 0) or 0)
        assert np.abs(first.to_ndarray(format="rgb24").astype(int) - shown).mean() < 3


def test_reading_by_reference_shows_what_the_extracted_clip_holds(hard_sources, tmp_path):
    """A trainer reading a manifest row from its source (no clip file) gets the frames the
    extracted clip holds, on a variable-rate source stored with a display rotation: the same
    grid, the same gaps held, the same upright turn."""
    import av

    from video.media import read_grid_frames
    from video.training.data import read_frames

    src = tmp_path / "vfr_rotated.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", "270", "-i",
                    str(hard_sources["vfr.mp4"]), "-c", "copy", str(src)], check=True)
    fps = probe_video(src)["fps"]
    start, end = 40, 100  # across the change from 30 to 15 fps
    path, _ = extract_clip(src, start, end, fps, tmp_path / "clip.mp4", set(keyframes(src)))
    with av.open(str(path)) as c:
        clip = np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]).astype(int)
    ref = read_grid_frames(src, list(range(start, end)), fps).astype(int)
    assert ref.shape == clip.shape == (end - start, 160, 120, 3)
    d = {s: np.abs(ref[max(s, 0):len(ref) + min(s, 0)] - clip[max(-s, 0):len(clip) + min(-s, 0)]).mean(axis=(1, 2, 3))
         for s in (-1, 0, 1)}  # frame k of one against frame k + s of the other
    assert d[0].max() < 6  # CRF 18 on this busy test card costs ~5 levels
    assert (d[0][1:] <= d[1] + 0.5).all() and (d[0][:-1] <= d[-1] + 0.5).all()  # no one-frame shift fits better
    picked = read_frames(src, [start, start + 10, end - 1], fps)
    assert np.array_equal(picked, ref[[0, 10, -1]])


def test_no_clip_is_padded_past_the_source_and_no_copy_loses_a_frame(bikes, tmp_path):
    """A range past the decodable end, or before frame 0, is an error, not copies of the last
    (first) frame; Matroska packets without decode times are re-encoded, not copied (the mp4
    muxer gave two of them equal times and a decoder dropped one: 29 frames of 30)."""
    import av

    from video.media import MediaError, read_grid_frames

    for start, end in ((240, 254), (-5, 5)):  # bikes has 250 frames
        with pytest.raises(MediaError):
            extract_clip(bikes, start, end, 25.0, tmp_path / "x.mp4")
    with pytest.raises(MediaError, match="ends at frame 249"):
        read_grid_frames(bikes, [248, 252], 25.0)
    assert not list(tmp_path.iterdir())
    mkv = tmp_path / "mix.mkv"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=192x128:rate=30:duration=2",
                    "-f", "lavfi", "-i", "testsrc2=size=192x128:rate=15:duration=2", "-filter_complex",
                    "[0][1]concat=n=2", "-c:v", "libx264", "-g", "30", "-fps_mode", "passthrough", str(mkv)], check=True)
    path, _ = extract_clip(mkv, 0, 30, 30.0, tmp_path / "c.mp4", set(keyframes(mkv)))
    with av.open(str(path)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 30
