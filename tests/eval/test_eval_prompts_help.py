"""``--prompts`` help says what leaving it out does: with ``--clip``, clip_text is skipped and
clip_frame still scored (it said "no CLIP-SIM"), checked against a run."""

from __future__ import annotations

import json
import re

import numpy as np

from video.media import write_video


def test_prompts_help_matches_a_clip_run_without_prompts(tmp_path, cli, tiny_weights):
    text = " ".join(cli("eval", "--help").stdout.split())
    help_ = re.search(r"--prompts PROMPTS (.*?) --out", text).group(1)
    assert "no CLIP-SIM" not in help_
    assert "clip_text (text-frame similarity) is skipped and clip_frame (frame-frame) still scored" in help_

    rng = np.random.default_rng(0)
    write_video(rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8), tmp_path / "a.mp4", fps=5)
    p = cli("eval", tmp_path / "a.mp4", "--clip", tiny_weights["clip"], "--out", tmp_path / "o", "--device", "cpu")
    assert p.returncode == 0, p.stderr
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert "clip_frame" in m["videos"]["a"] and "clip_text" not in m["videos"]["a"]
    assert "clip_text skipped: no --prompts" in m["notes"]
