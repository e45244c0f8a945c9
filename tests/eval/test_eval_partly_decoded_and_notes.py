"""``video eval`` after review: a file cut inside a packet keeps the frames before the damage and
is scored on them (as a player shows them), with a note, exit 0, and listed in metrics.json's
``partly_decoded`` so that a script sees it (the README said it was skipped, exit 1); a
reference that only needs its centre cropped is said to be cropped, not "resized ... scaled";
an FVD-only comparison (no names pair) says so in one note, not one per video; ``psnr_frames``
of a list of frames of the wrong length is its ValueError (it was an AttributeError)."""

from __future__ import annotations

import json
import subprocess

import av
import numpy as np
import pytest

from eval.inputs import align
from eval.metrics import psnr_frames
from eval.runner import evaluate
from video.media import ffmpeg_exe, write_video


def cut_inside_a_packet(path, seconds: int = 5) -> int:
    """A real H.264 mp4 (moov first, as video writes) of ``seconds`` x 10 frames, cut in the middle
    of the packet in the middle of the file; returns the frames its container lists."""
    whole = path.with_name("whole_" + path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc=size=64x48:rate=10:duration={seconds}", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-movflags", "+faststart", str(whole)], check=True, timeout=120)
    with av.open(str(whole)) as c:
        listed = c.streams.video[0].frames
        packets = sorted((p.pos, p.size) for p in c.demux(c.streams.video[0]) if p.size)
    pos, size = packets[len(packets) // 2]
    assert size >= 2 and listed == 10 * seconds
    path.write_bytes(whole.read_bytes()[: pos + size // 2])
    whole.unlink()
    return listed


def frames_before_the_damage(path) -> int:
    """The frames PyAV decodes from ``path`` until its decoder stops: an independent count."""
    n = 0
    with av.open(str(path)) as c:
        try:
            for _ in c.decode(video=0):
                n += 1
        except av.error.FFmpegError:
            pass
    return n


def test_a_file_cut_inside_a_packet_is_scored_on_its_frames_and_listed(tmp_path, cli):
    gen = tmp_path / "gen"
    listed = cut_inside_a_packet(gen / "mid.mp4")
    write_video(np.full((8, 48, 64, 3), 128, np.uint8), gen / "whole.mp4", fps=10)
    decoded = frames_before_the_damage(gen / "mid.mp4")
    assert 0 < decoded < listed  # some frames decode: the case the README called unreadable
    p = cli("eval", gen, "--out", tmp_path / "o", "--device", "cpu", "--quiet")
    assert p.returncode == 0 and not p.errors, p.stderr
    assert p.stdout.strip().endswith("; 1 file cut short, scored on the frames that decode (partly_decoded)")
    line = (f"mid: decoded {decoded} of the {listed} frames its container lists (cut short or damaged?): "
            "scored on those")
    assert f"note: {line}" in p.stderr
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["videos"]["mid"]["frames"] == decoded and m["unreadable"] == []
    assert m["partly_decoded"] == [{"name": "mid", "side": "generated", "file": str(gen / "mid.mp4"),
                                    "frames_decoded": decoded, "frames_listed": listed}]
    assert line in m["notes"]


def test_a_reference_cut_short_is_listed_as_the_reference(tmp_path):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    listed = cut_inside_a_packet(ref / "a.mp4")
    decoded = frames_before_the_damage(ref / "a.mp4")
    write_video(np.full((4, 48, 64, 3), 100, np.uint8), gen / "a.mp4", fps=10)
    r = evaluate(gen / "a.mp4", reference=ref / "a.mp4", out=tmp_path / "o", log=lambda m: None)
    assert r["partly_decoded"] == [{"name": "a", "side": "reference", "file": str(ref / "a.mp4"),
                                    "frames_decoded": decoded, "frames_listed": listed}]
    assert (f"a: reference: decoded {decoded} of the {listed} frames its container lists (cut short or "
            "damaged?): scored on those") in r["notes"]
    whole = evaluate(gen / "a.mp4", reference=gen / "a.mp4", out=tmp_path / "o2", log=lambda m: None)
    assert whole["partly_decoded"] == []


def test_a_reference_only_cropped_is_said_cropped_not_resized():
    """A 160x68 reference covers 68x68 at its own size: only its centre is kept, exactly."""
    ref = np.random.default_rng(0).integers(0, 256, (3, 68, 160, 3), dtype=np.uint8)
    g, r, notes = align(ref[:, :, 46:114], ref)
    assert notes == ["reference centre-cropped from 160x68 to 68x68 (the aspect ratios differ: its centre kept, "
                     "as training crops its clips)"]
    assert np.array_equal(r, ref[:, :, 46:114])
    _, _, scaled = align(ref[:, ::2, 46:114:2], ref)  # 34x34: scaled to 80x34, then cropped
    assert scaled[0] == "reference resized from 160x68 to 34x34" and "scaled to 80x34 to cover 34x34" in scaled[1]


def noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 24, 24, 3), dtype=np.uint8)


def test_an_fvd_only_comparison_says_so_once(tmp_path, tiny_weights):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    for i in range(6):
        write_video(noise(4, i), gen / f"g{i}.mp4", fps=5)
        write_video(noise(4, 10 + i), ref / f"r{i}.mp4", fps=5)
    logged: list[str] = []
    r = evaluate(gen, reference=ref, i3d=tiny_weights["i3d"], fvd_frames=4, out=tmp_path / "o", log=logged.append)
    line = "no generated video has a reference of its name: reconstruction scores skipped (FVD compares the sets)"
    assert [n for n in r["notes"] if "reference of" in n or "reference video of" in n] == [line]
    assert f"note: {line}" in logged and r["aggregate"]["fvd_i3d"] > 0
    page = (tmp_path / "o" / "report.html").read_text()
    assert line in page and "g0: no reference" not in page


def test_some_unpaired_videos_are_named_up_to_a_few(tmp_path):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    for i, name in enumerate(["a", "b", "c", "d", "e", "f"]):
        write_video(noise(4, i), gen / f"{name}.mp4", fps=5)
    write_video(noise(4, 9), ref / "a.mp4", fps=5)
    r = evaluate(gen, reference=ref, out=tmp_path / "o", log=lambda m: None)
    assert [n for n in r["notes"] if "reference video of" in n] == [
        f"{x}: no reference video of that name; reconstruction scores skipped" for x in "bcd"] + [
        "and 2 more generated videos with no reference video of their name; reconstruction scores skipped"]
    write_video(noise(4, 8), ref / "b.mp4", fps=5)  # four unpaired: each named (not "and 1 more")
    r = evaluate(gen, reference=ref, out=tmp_path / "o", log=lambda m: None)
    assert [n.split(":")[0] for n in r["notes"] if "reference video of" in n] == list("cdef")


def test_psnr_frames_of_lists_of_other_lengths_is_a_value_error():
    a = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r"psnr needs equal shapes, got \(1, 8, 8, 3\) and \(2, 8, 8, 3\)"):
        psnr_frames([a], [a, a])
    assert psnr_frames([a, a], [a, a]).tolist() == [np.inf, np.inf]
