"""Decoding for the cut detector in keyframe-cut pieces side by side: the same features as one
pass, on every kind of keyframe the containers and codecs here produce."""

import subprocess

import numpy as np
import pytest

from data_curation.bitstream import is_idr, worth_checking, x264_options
from data_curation.cut_features import (
    CHECK_FRAMES,
    _decode_piece,
    _from_keyframe,
    _one_pass,
    _open,
    _scan,
    _segmented,
    frame_features,
)
from video.media import ffmpeg_exe

# name -> (file name, ffmpeg output options): every one with a keyframe at least each 30 frames
ENCODES = {
    "x264 medium (IDR, B-pyramid, ref=3)": ("medium.mp4", ["-c:v", "libx264", "-preset", "medium", "-g", "30"]),
    "x264 open GOP (non-IDR keyframes)": ("open.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-x264-params",
                                                          "open-gop=1:keyint=30:min-keyint=30:scenecut=0"]),
    "x265 (open GOP, CRA keyframes)": ("hevc.mp4", ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                                                    "keyint=30:min-keyint=30:open-gop=1:log-level=error"]),
    "VP9 in WebM (seek by cues)": ("vp9.webm", ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
                                                "-g", "30"]),
    "MPEG-4 part 2 with B-frames, AVI": ("mpeg4.avi", ["-c:v", "mpeg4", "-bf", "2", "-g", "30", "-q:v", "4"]),
    # found by review: IDR_W_RADL pictures have leading pictures (shown before, decoded after)
    "x265 closed GOP with RADL pictures": ("radl.mp4", ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                                                        "keyint=15:min-keyint=15:open-gop=0:radl=2:bframes=4:"
                                                        "b-adapt=0:scenecut=0:log-level=error"]),
    # AVI stores no presentation times: frames come out of the decoder in a different pts order
    "x264 with B-frames in AVI": ("h264.avi", ["-c:v", "libx264", "-preset", "veryfast", "-x264-params",
                                               "bframes=3:b-pyramid=normal", "-g", "15"]),
    # 8 B-frames in a row: the reference frames alone leave gaps wider than MAX_SKIPPED
    "x264 with 8 B-frames in a row": ("b8.mp4", ["-c:v", "libx264", "-preset", "veryfast", "-x264-params",
                                                 "bframes=8:b-adapt=0:b-pyramid=none", "-g", "15"]),
}
# stream copies of the x264 medium file: an MP4 with an edit list (cut at 0.5 s, between keyframes:
# seeks land one keyframe early), and Matroska written to a pipe (no cues: no seek index at all)
COPIES = {"MP4 edit list": ("editlist.mp4", ["-ss", "0.5"], []),
          "Matroska without cues": ("nocues.mkv", [], ["-f", "matroska", "pipe:1"])}


@pytest.fixture(scope="module")
def encodes(montage, tmp_path_factory):
    src, _ = montage
    d = tmp_path_factory.mktemp("encodes")
    out = {}
    for name, (fname, opts) in ENCODES.items():
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(src), "-an", *opts, str(d / fname)],
                       check=True)
        out[name] = str(d / fname)
    medium = out["x264 medium (IDR, B-pyramid, ref=3)"]
    for name, (fname, before, after) in COPIES.items():
        cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", *before, "-i", medium, "-c", "copy"]
        if after:  # written through a pipe
            with open(d / fname, "wb") as f:
                subprocess.run([*cmd, *after], check=True, stdout=f)
        else:
            subprocess.run([*cmd, str(d / fname)], check=True)
        out[name] = str(d / fname)
    return out


def _same(a, b) -> bool:
    return (a.num_frames == b.num_frames and np.array_equal(a.index, b.index)
            and np.array_equal(a.thumb, b.thumb) and np.array_equal(a.hist, b.hist))


def test_file_cut_short_falls_back_to_one_pass(encodes, tmp_path):
    """A file cut short (index at the front, its last ~5% of packets gone): the demux pass stops
    early, so pieces cannot be placed and one pass decodes what is there. Every mode gives what a
    full decode reads, whether the file ends inside a packet (a single-threaded decoder reports
    the broken packet that frame threads conceal) or exactly between two (no decoder error at all:
    only the frame count says the end is missing; a CI machine's encode landed there)."""
    import av

    fast = tmp_path / "faststart.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", encodes["x264 medium (IDR, B-pyramid, ref=3)"],
                    "-c", "copy", "-movflags", "+faststart", str(fast)], check=True)
    data = fast.read_bytes()
    with av.open(str(fast)) as c:
        packets = sorted((p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size)
    pos, size = packets[len(packets) * 19 // 20]
    whole = _one_pass(fast, "all")
    for end in (pos, pos + size // 2):  # between two packets, inside one
        cut = tmp_path / f"cut{end}.mp4"
        cut.write_bytes(data[:end])
        every = _one_pass(cut, "all")
        assert 0.8 * whole.num_frames < every.num_frames < whole.num_frames  # most of the file, not all
        assert list(every.index) == list(range(every.num_frames))
        for mode in ("all", "ref", "auto"):
            assert _segmented(cut, mode, 2) is None, (end, mode)
            assert _same(frame_features(cut, mode, threads=2), every), (end, mode)
            assert _same(frame_features(cut, mode, threads=1), every), (end, mode)


@pytest.mark.parametrize("name", [*ENCODES, *COPIES])
def test_pieces_equal_one_pass(encodes, name):
    """Every frame (``all``) and every reference frame (``ref``) decoded in pieces on three
    threads is bit for bit what one pass gives: no frame lost, doubled or decoded wrongly at a
    piece boundary, open GOPs' leading pictures included."""
    path = encodes[name]
    scan = _scan(path)
    assert scan is not None and len(scan.keys) >= 8, name  # enough keyframes for many pieces
    for mode in ("all", "ref"):
        pieces = _segmented(path, mode, 3)
        assert pieces is not None, (name, mode)  # the parallel path ran, no fallback
        assert _same(pieces, _one_pass(path, mode)), (name, mode)
        assert _same(frame_features(path, mode, threads=3), pieces)
        if mode == "all":  # every frame once, numbered from the stream's start (AVI with B-frames: from 1)
            assert list(pieces.index) == list(range(pieces.index[0], pieces.num_frames)) and pieces.index[0] <= 1
    if name == "x264 with 8 B-frames in a row":  # ref leaves gaps of 8: both decode every frame
        assert len(_one_pass(path, "ref").index) == _one_pass(path, "ref").num_frames
    c, s = _open(path, "DEFAULT")
    with c:  # each piece starts reading at its own keyframe, not one interval early (wasted work)
        for k in scan.keys[1:]:
            assert next(_from_keyframe(c, s, k, scan.seek[k])).pts == k, (name, k)


def test_idr_and_open_gop_keyframes_are_told_apart(encodes):
    """x264 closed GOPs cut at IDR pictures (a piece stops before the next one); its open-GOP
    keyframes, x265's CRA pictures and x265's IDR pictures with RADL leading pictures are not
    (a piece also decodes the leading pictures)."""
    for name, closed in (("x264 medium (IDR, B-pyramid, ref=3)", True), ("x264 open GOP (non-IDR keyframes)", False),
                         ("x265 (open GOP, CRA keyframes)", False), ("x265 closed GOP with RADL pictures", False)):
        scan = _scan(encodes[name])
        later = scan.keys[1:]
        assert all((k in scan.closed) == closed for k in later), name
    assert not is_idr(b"\x00\x00\x00\x01\x41\x9a", "h264", 0) and is_idr(b"\x00\x00\x00\x01\x65\x88", "h264", 0)
    assert is_idr(b"\x00\x00\x00\x02\x65\x88", "h264", 4) and not is_idr(b"\x00\x00\x00\x02\x65\x88", "vp9", 4)


def _pts(path, skip):
    c, s = _open(path, skip)
    with c:
        return {f.pts for f in c.decode(s)}


def test_auto_in_pieces_skips_b_frames_only_where_exact(montage, tmp_path):
    """x264 with ref=1 never predicts a P-frame from a B-frame: after the opening check, the
    pieces skip every B-frame. With ref=3 and a B-pyramid the check would fail, so x264's own
    record of its options sends auto straight to the reference frames."""
    path, _ = montage
    safe, unsafe = tmp_path / "ref1.mp4", tmp_path / "ref3.mp4"
    for dest, params in ((safe, "ref=1:bframes=3:b-pyramid=normal:keyint=40"),
                         (unsafe, "ref=3:bframes=3:b-pyramid=normal:keyint=40")):
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(path), "-c:v", "libx264", "-preset",
                        "veryfast", "-x264-params", params, str(dest)], check=True)
    assert worth_checking(_scan(safe).x264) and not worth_checking(_scan(unsafe).x264)
    for p, exact in ((safe, True), (unsafe, False)):
        ref, bidir = _pts(p, "NONREF"), _pts(p, "BIDIR")
        assert len(bidir) < len(ref)  # both have B-frames used as references
        scan = _scan(p)
        got = _segmented(p, "auto", 2)
        assert got is not None
        pts = {int(round(i / scan.fps / scan.time_base)) + min(ref) for i in got.index}
        last = sorted(ref)[CHECK_FRAMES - 1]  # where the opening check ends, as in one pass
        if exact:  # the opening from the reference decode, every B-frame skipped after it
            assert pts == {t for t in ref if t <= last} | {t for t in bidir if t > last} and len(pts) < len(ref)
        else:
            assert pts == ref


def test_a_piece_under_way_drops_b_frames_once_the_check_says_so(montage, tmp_path):
    """The skip level given as a function is asked before every packet: switched from the
    reference B-frames to none halfway, the piece keeps every frame decoded before the switch,
    only P/I frames after it, each bit-identical to the reference decode; and ``auto`` on more
    decoders than the check occupies gives the reference decode's features on every frame."""
    path, _ = montage
    p = tmp_path / "ref1.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(path), "-c:v", "libx264", "-preset",
                    "veryfast", "-x264-params", "ref=1:bframes=3:b-pyramid=normal:keyint=40", str(p)], check=True)
    ref, bidir, shown = _pts(p, "NONREF"), _pts(p, "BIDIR"), sorted(_pts(p, "DEFAULT"))
    asked = []

    def level() -> str:
        asked.append(1)
        return "NONREF" if len(asked) <= 120 else "BIDIR"

    whole = _decode_piece(p, "NONREF", None, None, 1, crc=True)
    switched = _decode_piece(p, level, None, None, 1, crc=True)
    got = set(switched.crcs)
    # frames shown well before packet 120 (the decoder's delay is a few packets) and well after
    assert {t for t in ref if t < shown[100]} <= got <= ref and len(got) < len(ref)
    assert {t for t in bidir if t > shown[140]} <= got
    assert all(switched.crcs[t] == whole.crcs[t] for t in got)
    many = frame_features(p, "auto", 6)  # how many frames it skips depends on thread timing; exact either way
    full = frame_features(p, "ref", 2)
    assert set(many.index) <= set(full.index)
    at = {int(i): k for k, i in enumerate(full.index)}
    for k, i in enumerate(many.index):
        assert np.array_equal(many.thumb[k], full.thumb[at[int(i)]])
        assert np.array_equal(many.hist[k], full.hist[at[int(i)]])


def test_x264_options_are_read_from_the_first_frame(bikes):
    c, s = _open(bikes, "DEFAULT")
    with c:
        first = bytes(next(iter(c.demux(s))))
    opts = x264_options(first)
    assert (opts["ref"], opts["bframes"], opts["b_pyramid"]) == ("3", "3", "2")
    assert not worth_checking(opts)  # B-pyramid with 3 references: the check would fail
    assert x264_options(b"\x00\x00\x01\x65 no encoder string") == {} and worth_checking({})
    assert not worth_checking({"ref": "1", "bframes": "0", "b_pyramid": "0"})


def test_cover_art_stream_is_not_the_video(encodes, tmp_path):
    """An MP4 whose first video stream is a cover picture (attached_pic): the clip is the video."""
    cover = tmp_path / "cover.png"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "color=red:s=64x64",
                    "-frames:v", "1", str(cover)], check=True)
    src = encodes["x264 medium (IDR, B-pyramid, ref=3)"]
    out = tmp_path / "with_cover.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(cover), "-i", src, "-map", "0", "-map", "1:v",
                    "-c", "copy", "-disposition:v:0", "attached_pic", str(out)], check=True)
    plain = _one_pass(src, "all")
    for threads in (1, 2):
        got = frame_features(out, "all", threads=threads)
        assert _same(got, plain), threads
    from video.media import probe_video, read_video

    info = probe_video(out)  # the probe, clip reader and scorers read the same stream
    assert (info["num_frames"], info["width"]) == (plain.num_frames, probe_video(src)["width"])
    assert len(read_video(out)) == plain.num_frames


def test_variable_rate_cut_lands_at_its_time_in_every_mode(tmp_path):
    """30 fps for 3 s, then 15 fps: frames are numbered on the nominal grid (time x average fps)
    whatever the decode mode, as the clip reader and the manifest number them; numbering by
    count put the cut a second late in ``all`` mode (frame 90 of a 22.75 fps grid = 3.96 s)."""
    from data_curation.cuts import CutParams, detect_shots

    p = tmp_path / "vfr.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=30:duration=3", "-f", "lavfi", "-i", "mandelbrot=size=160x120:rate=15",
                    "-filter_complex", "[1:v]trim=duration=3,setpts=PTS-STARTPTS[b];[0:v][b]concat=n=2:v=1[v]",
                    "-map", "[v]", "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "veryfast", str(p)], check=True)
    for mode in ("all", "ref", "auto"):
        for threads in (1, 2):
            shots = detect_shots(p, CutParams(decode=mode, threads=threads))
            assert len(shots.shots) == 2, (mode, threads, shots.shots)
            cut_s = shots.shots[0][1] / shots.fps
            assert abs(cut_s - 3.0) < 2 / shots.fps, (mode, threads, cut_s)


def test_cut_frame_numbers_are_the_readers_frame_numbers(tmp_path):
    """In an AVI with B-frames the first frame is shown one tick after the stream's start: the
    detector counts from the stream's start as the clip readers do, so the frame a shot starts
    at, read back, is the first frame after the cut (counting from the first frame put every
    boundary one frame early against the readers)."""
    from data_curation.cuts import CutParams, detect_shots
    from video.media import read_grid_frames

    p = tmp_path / "cut.avi"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=25:duration=2", "-f", "lavfi", "-i",
                    "mandelbrot=size=160x120:rate=25", "-filter_complex", "[1:v]trim=duration=2[b];[0:v][b]concat=n=2",
                    "-c:v", "mpeg4", "-bf", "2", "-q:v", "3", str(p)], check=True)
    shots = detect_shots(p, CutParams(decode="all", threads=1))
    assert len(shots.shots) == 2, shots.shots
    cut = shots.shots[1][0]
    a, b, c = read_grid_frames(p, [cut - 2, cut - 1, cut], shots.fps).astype(float)
    assert np.abs(b - a).mean() < 0.3 * np.abs(c - b).mean()  # the big change is between cut - 1 and cut
