"""The videos' order, which a prompts text file's lines follow, is the natural order of their
names without the extension: on full file names ``bbb.mp4`` sorted after ``bbb2.mp4`` ("bbb.mp"
against "bbb"), so a reviewer's four prompts met the wrong videos."""

from __future__ import annotations

import json

import numpy as np

from eval.inputs import discover, index_videos
from video.media import write_video

NAMES = ["bbb", "bbb2", "bikes", "bikes2"]  # the reviewer's folder, in the order a reader expects


def test_names_sort_on_their_stem_then_the_full_name(tmp_path):
    for name in ["bikes2.mp4", "clip_10.mp4", "bbb.mp4", "clip_2.gif", "bikes.mp4", "bbb2.mp4", "clip_2.mp4"]:
        (tmp_path / name).touch()  # discover reads names only
    assert [p.name for p in discover(tmp_path)] == ["bbb.mp4", "bbb2.mp4", "bikes.mp4", "bikes2.mp4",
                                                     "clip_2.gif", "clip_2.mp4", "clip_10.mp4"]


def test_prompt_lines_meet_the_videos_of_their_names(tmp_path, cli):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    rng = np.random.default_rng(0)
    for name in reversed(NAMES):
        clip = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
        write_video(clip, gen / f"{name}.mp4", fps=5)
        write_video(clip, ref / f"{name}.mp4", fps=5)  # the same clip: a pair by name is identical
    assert list(index_videos(gen)) == NAMES == list(index_videos(ref))
    (tmp_path / "p.txt").write_text("".join(f"prompt for {n}\n" for n in NAMES))
    out = tmp_path / "o"
    p = cli("eval", gen, "--reference", ref, "--prompts", tmp_path / "p.txt", "--out", out, "--device", "cpu")
    assert p.returncode == 0, p.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["prompts"] == {n: f"prompt for {n}" for n in NAMES}
    assert list(m["videos"]) == NAMES and list(m["curves"]) == NAMES
    assert all(m["videos"][n]["ssim"] == 1.0 for n in NAMES)  # each paired with its own reference
    assert not any("natural name order" in n for n in m["notes"])  # plain order agrees here: nothing to say
    html = (out / "report.html").read_text()
    table = html[html.index("<h2>Per video</h2>"):]
    rows = [table.index(f"<tr><td>{n}</td>") for n in NAMES]
    assert rows == sorted(rows)  # the report's table in the same order
