"""``video eval`` over a batch with a file that does not even open (0 bytes, not a video): the
file is a note and a line in ``unreadable``, the others are scored, exit 1, as for a file that
opens and then fails to decode (it aborted the whole batch: exit 2, nothing scored). A pair
whose reference does not open is left out with it; nothing to score is still one error."""

from __future__ import annotations

import json

import numpy as np

from video.media import write_video


def clip(path, seed: int) -> None:
    write_video(np.random.default_rng(seed).integers(0, 256, (3, 24, 24, 3), dtype=np.uint8), path, fps=5)


def test_an_empty_file_beside_good_videos_is_skipped_and_the_rest_scored(tmp_path, cli):
    gen = tmp_path / "gen"
    clip(gen / "a.mp4", 0)
    clip(gen / "b.mp4", 1)
    (gen / "c3.mp4").write_bytes(b"")
    p = cli("eval", gen, "--out", tmp_path / "o", "--device", "cpu", "--quiet")
    line = f"{gen / 'c3.mp4'}: not a readable video: empty file (0 bytes)"
    assert p.returncode == 1, p.stderr
    assert f"note: c3 skipped: {line}" in p.stderr and "evaluated 2 videos -> " in p.stdout
    assert p.errors == [f"error: 1 video could not be decoded and was skipped (named in the notes above and in "
                        f"{tmp_path / 'o' / 'metrics.json'}); the others were scored"]
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert list(m["videos"]) == ["a", "b"] and m["unreadable"] == [line]


def test_a_reference_that_does_not_open_leaves_its_pair_out(tmp_path, cli):
    """Scored without its reference, the pair's PSNR/SSIM would be missing from the means unseen."""
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    for i, name in enumerate("ab"):
        clip(gen / f"{name}.mp4", i)
        clip(ref / f"{name}.mp4", 10 + i)
    (ref / "b.mp4").write_bytes(b"not a video")
    (ref / "z.mp4").write_bytes(b"")  # pairs with nothing: listed too
    p = cli("eval", gen, "--reference", ref, "--out", tmp_path / "o", "--device", "cpu", "--quiet")
    assert p.returncode == 1, p.stderr
    assert f"note: b skipped: {ref / 'b.mp4'}: not a readable video" in p.stderr
    assert f"note: reference z skipped: {ref / 'z.mp4'}: not a readable video" in p.stderr
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert list(m["videos"]) == ["a"] and "psnr" in m["videos"]["a"]
    assert [u.split(":")[0] for u in m["unreadable"]] == [str(ref / "b.mp4"), str(ref / "z.mp4")]


def test_nothing_that_opens_is_one_error_line_and_nothing_written(tmp_path, cli):
    gen = tmp_path / "gen"
    gen.mkdir()
    (gen / "a.mp4").write_bytes(b"")
    (gen / "b.mp4").write_bytes(b"")
    p = cli("eval", gen, "--out", tmp_path / "o", "--device", "cpu", "--quiet")
    assert p.returncode == 2 and p.stderr.strip().splitlines() == [
        f"error: no generated video could be read (2 skipped; first: {gen / 'a.mp4'}: not a readable video: "
        "empty file (0 bytes))"], p.stderr
    assert not (tmp_path / "o").exists()
