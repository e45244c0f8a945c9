"""``video eval`` after review of long runs: a video that opens but none of whose frames decode
(a small mp4 cut short inside its first frames) is skipped with a note, the others scored and written, exit 1 (it threw away the whole
run, exit 2, nothing written); a progress bar over the videos on stderr (``--quiet``: none; the
notebook's ``evaluate`` call: none); the last line says ``psnr inf`` for identical inputs (it
left PSNR out) and ``over N of M videos`` where only some have a reference, counted in
``psnr_videos``; a ``--reference`` that pairs with no generated video is one error line before
any scoring (it was a note per video and exit 0)."""

from __future__ import annotations

import fcntl
import json
import os
import struct
import subprocess
import sys
import termios
import threading

import numpy as np
import pytest

from eval.inputs import frame_size, load_video
from eval.runner import evaluate
from video.media import MediaError, write_video


def ffmpeg_clip(path, seconds: float = 1, size: str = "64x48") -> None:
    """A real H.264 mp4 from ffmpeg's test pattern, moov first (``+faststart``, as video writes)."""
    import imageio_ffmpeg

    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc=size={size}:rate=10", "-t", str(seconds), "-pix_fmt", "yuv420p", "-movflags",
                    "+faststart", str(path)], check=True)


def truncated(path) -> None:
    """An mp4 cut to half its bytes: its header (moov, in front) reads, none of its frames do (half of
    this small clip's bytes ends inside its first packets; a longer one cut in its middle keeps
    the frames before the cut and is scored on them: test_eval_partly_decoded_and_notes.py)."""
    full = path.with_name("full_" + path.name)
    ffmpeg_clip(full, seconds=2)
    data = full.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    full.unlink()
    assert frame_size(path) == (48, 64)
    with pytest.raises(MediaError, match="not a readable video"):
        load_video(path)


def noise(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 24, 24, 3), dtype=np.uint8)


def test_a_video_that_does_not_decode_is_skipped_and_the_rest_written(tmp_path, cli):
    gen = tmp_path / "gen"
    ffmpeg_clip(gen / "a.mp4")
    truncated(gen / "z_trunc.mp4")
    p = cli("eval", gen, "--out", tmp_path / "o", "--device", "cpu", "--quiet")
    assert p.returncode == 1, p.stderr
    assert f"note: z_trunc skipped: {gen / 'z_trunc.mp4'}: not a readable video (InvalidDataError)" in p.stderr
    assert p.errors == [f"error: 1 video could not be decoded and was skipped (named in the notes above and in "
                        f"{tmp_path / 'o' / 'metrics.json'}); the others were scored"]
    assert p.stderr.strip().splitlines()[-1] == p.errors[0] and "evaluated 1 video -> " in p.stdout
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert list(m["videos"]) == ["a"] and m["aggregate"]["num_videos"] == 1
    assert m["unreadable"] == [f"{gen / 'z_trunc.mp4'}: not a readable video (InvalidDataError)"]
    assert "z_trunc skipped" in (tmp_path / "o" / "report.html").read_text()


def test_an_unreadable_reference_skips_its_pair_and_fvd_uses_the_rest(tmp_path, cli, tiny_weights):
    """FVD's sets are the videos that decoded: the pair's generated video is left out, and the
    reference is not decoded again with the unmatched ones (a KeyError at the stack)."""
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    for i, name in enumerate("abc"):
        write_video(noise(4, i), gen / f"{name}.mp4", fps=5)
    for i, name in enumerate("ab"):
        write_video(noise(4, 10 + i), ref / f"{name}.mp4", fps=5)
    truncated(ref / "c.mp4")
    p = cli("eval", gen, "--reference", ref, "--i3d", tiny_weights["i3d"], "--fvd-frames", "4", "--out",
            tmp_path / "o", "--device", "cpu", "--quiet")
    assert p.returncode == 1, p.stderr
    assert f"note: c skipped: {ref / 'c.mp4'}: not a readable video (InvalidDataError)" in p.stderr
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert list(m["videos"]) == ["a", "b"] and len(m["unreadable"]) == 1
    assert m["aggregate"]["fvd_i3d"] > 0


def test_no_generated_video_decodes_is_one_error_and_nothing_written(tmp_path, cli):
    truncated(tmp_path / "gen" / "z.mp4")
    p = cli("eval", tmp_path / "gen", "--out", tmp_path / "o", "--device", "cpu", "--quiet")
    assert p.returncode == 2 and p.errors == [
        f"error: no generated video could be read (1 skipped; first: {tmp_path / 'gen' / 'z.mp4'}: not a "
        "readable video (InvalidDataError))"], p.stderr
    assert not (tmp_path / "o").exists()


def on_a_terminal(monkeypatch, cli, *argv) -> tuple[object, str]:
    """``cli(*argv)`` with stderr a real terminal (a pseudo-terminal of 100 columns, read as it is
    written, so that its buffer cannot fill): returns the run and what the terminal showed."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new one is 0x0
    shown = bytearray()
    reader = threading.Thread(target=drain, args=(master, shown), daemon=True)
    reader.start()
    tty = os.fdopen(slave, "w", buffering=1)
    try:
        with monkeypatch.context() as m:
            m.setattr(sys, "stderr", tty)
            p = cli(*argv)
    finally:
        tty.close()  # the reader's read fails (EIO) once the terminal's other end is closed
        reader.join(5)
        os.close(master)
    return p, shown.decode("utf-8", "replace")


def drain(fd: int, into: bytearray) -> None:
    try:
        while chunk := os.read(fd, 4096):
            into.extend(chunk)
    except OSError:  # EIO: the other end closed
        pass


def test_a_progress_bar_over_the_videos_on_a_terminal_only(tmp_path, cli, capsys, monkeypatch):
    """On a terminal, a bar over the videos, the notes above it (``--quiet``: none); off one (a
    log, a pipe: captured here) and from the notebook's ``evaluate`` call, the notes alone."""
    gen = tmp_path / "gen"
    for i, name in enumerate("ab"):
        write_video(noise(3, i), gen / f"{name}.mp4", fps=5)
    p, shown = on_a_terminal(monkeypatch, cli, "eval", gen, "--out", tmp_path / "o", "--device", "cpu")
    assert p.returncode == 0, shown
    assert "videos: 100%" in shown and "2/2" in shown and "note: psnr, ssim, lpips and fvd skipped" in shown
    p, shown = on_a_terminal(monkeypatch, cli, "eval", gen, "--out", tmp_path / "o", "--device", "cpu", "--quiet")
    assert p.returncode == 0 and "videos:" not in shown and "note: psnr" in shown
    off = cli("eval", gen, "--out", tmp_path / "o", "--device", "cpu")
    assert off.returncode == 0 and all(ln.startswith("note: ") for ln in off.stderr.splitlines()), off.stderr
    capsys.readouterr()
    lines: list[str] = []
    evaluate(gen, out=tmp_path / "nb", log=lines.append)  # the notebook's call: its log alone
    assert capsys.readouterr().err == "" and any("no --reference" in ln for ln in lines)


def test_identical_inputs_say_psnr_inf(tmp_path, cli):
    ffmpeg_clip(tmp_path / "a.mp4")
    p = cli("eval", tmp_path / "a.mp4", "--reference", tmp_path / "a.mp4", "--out", tmp_path / "o",
            "--device", "cpu", "--quiet")
    assert p.returncode == 0, p.stderr
    assert ", psnr inf, psnr_whole_clip inf, ssim 1" in p.stdout
    gen = tmp_path / "gen"
    for i, name in enumerate("ab"):
        write_video(noise(3, i), gen / f"{name}.mp4", fps=5)
    p = cli("eval", gen, "--reference", gen, "--out", tmp_path / "o2", "--device", "cpu", "--quiet")
    assert ", psnr inf (all 2 videos), psnr_whole_clip inf (all 2 videos), ssim 1" in p.stdout


def test_a_reference_for_some_videos_counts_them(tmp_path, cli):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    for i, name in enumerate("abc"):
        write_video(noise(3, i), gen / f"{name}.mp4", fps=5)
    write_video(noise(3, 7), ref / "a.mp4", fps=5)
    write_video(noise(3, 1), ref / "b.mp4", fps=5)  # b against itself: inf, left out of the mean
    p = cli("eval", gen, "--reference", ref, "--out", tmp_path / "o", "--device", "cpu", "--quiet")
    assert p.returncode == 0, p.stderr
    agg = json.loads((tmp_path / "o" / "metrics.json").read_text())["aggregate"]
    assert agg["num_videos"] == 3 and agg["psnr_videos"] == 2 and agg["ssim_videos"] == 2 and agg["psnr_inf"] == 1
    assert "flicker_videos" not in agg  # every video has it
    assert f"psnr {agg['psnr']:.4g} over 2 of 3 videos (1 inf, left out)" in p.stdout
    assert f"ssim {agg['ssim']:.4g} over 2 of 3 videos" in p.stdout


def test_a_reference_that_pairs_with_nothing_fails_before_scoring(tmp_path, cli, tiny_weights):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    for i, name in enumerate("ab"):
        write_video(noise(3, i), gen / f"{name}.mp4", fps=5)
        write_video(noise(3, i), ref / f"other_{name}.mp4", fps=5)
    p = cli("eval", gen, "--reference", ref, "--out", tmp_path / "o", "--device", "cpu", "--quiet")
    assert p.returncode == 2 and p.stderr.strip().splitlines() == p.errors == [
        f"error: --reference {ref}: no reference has the name of a generated video (generated: a, b; reference: "
        "other_a, other_b); references pair with generated videos by name"], p.stderr
    assert not (tmp_path / "o").exists()
    # one file on each side is a pair whatever the names; FVD compares the sets, paired or not
    one = cli("eval", gen / "a.mp4", "--reference", ref / "other_b.mp4", "--out", tmp_path / "o1", "--quiet")
    assert one.returncode == 0, one.stderr
    fvd = cli("eval", gen, "--reference", ref, "--i3d", tiny_weights["i3d"], "--fvd-frames", "3", "--out",
              tmp_path / "o2", "--device", "cpu", "--quiet")
    assert fvd.returncode == 0, fvd.stderr
    assert "fvd_i3d" in json.loads((tmp_path / "o2" / "metrics.json").read_text())["aggregate"]
