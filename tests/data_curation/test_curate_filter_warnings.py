"""``curate filter`` says when a rule cannot mean what it says: an absolute motion bound applied
to a manifest scored at another motion size (quick's ``min: 0.05`` is px per 0.5 s at a 64 px
short side; a 16-px manifest measures the same drift ~2.4x smaller, and the clip was dropped
without a word), and a rule on a column no clip measured (a model scorer without weights),
which was skipped silently. Real runs on a real clip; ``main()`` in process."""

from __future__ import annotations

import subprocess

import imageio_ffmpeg
import pyarrow.parquet as pq
import pytest

from data_curation.cli import main
from data_curation.engine import run

MOTION_NOTE = ("warning: recipe 'quick' bounds motion_mean in px per sample step at a 64 px short side and 2 fps, "
               "but this manifest was scored at 16 px and 2 fps: the same motion measures otherwise there (rescore "
               "with this recipe, or use a quantile rule)")


@pytest.fixture(scope="module")
def drift(tmp_path_factory):
    """A folder with one 3 s clip of a 2D texture drifting 0.015 px a frame (160x120, 25 fps):
    about 0.1 px per 0.5 s at 64 px, 0.025 at 16 px, either side of quick's 0.05."""
    raw = tmp_path_factory.mktemp("raw")
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "nullsrc=s=160x120:r=25:d=3,format=gray,geq=lum='128+60*sin((X+0.015*N)/4)+60*sin(Y/5)'",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(raw / "drift.mp4")], check=True)
    return raw


def _filter(out, capsys, *sets: str) -> tuple[list[str], list]:
    """``curate filter OUT --recipe quick [--set ...]``: its warning lines and the rows' (keep, drop_reason)."""
    words = ["filter", str(out), "--recipe", "quick"] + [w for s in sets for w in ("--set", s)]
    assert main(words) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    rows = pq.read_table(out / "manifest.parquet", columns=["keep", "drop_reason"]).to_pylist()
    return err, [(r["keep"], r["drop_reason"]) for r in rows]


def test_absolute_motion_rule_on_other_motion_size_warns(drift, tmp_path, capsys):
    small = tmp_path / "small"  # scored as svd_lvd scores motion, no rules: the clip is kept
    run([str(drift)], small, "quick", ["motion_short_side=16", "rules=[]"], workers=0, progress=False)
    assert _filter(small, capsys, "rules=[]")[1] == [(True, None)]
    err, rows = _filter(small, capsys)
    assert rows == [(False, "motion_mean<0.05")]  # the drop is real: the warning explains it
    assert err == [MOTION_NOTE]
    # a quantile bound is relative to the manifest's own values: no unit to mismatch
    assert _filter(small, capsys, "rules=[{column: motion_mean, min_quantile: 0.25}]")[0] == []


def test_absolute_motion_rule_on_same_motion_size_is_quiet(drift, tmp_path, capsys):
    quick = tmp_path / "quick"
    run([str(drift)], quick, "quick", workers=0, progress=False)
    assert _filter(quick, capsys) == ([], [(True, None)])
    # the recipe's size made to match the manifest's: no warning either way round
    small = tmp_path / "small"
    run([str(drift)], small, "quick", ["motion_short_side=16", "rules=[]"], workers=0, progress=False)
    assert _filter(small, capsys, "motion_short_side=16")[0] == []
    # and quick's 64 px against this 16-px manifest, with an upper bound on motion_spread
    assert _filter(small, capsys, "rules=[{column: motion_spread, max: 9}]")[0] == [
        MOTION_NOTE.replace("bounds motion_mean", "bounds motion_spread")]


def test_rule_on_a_column_no_clip_measured_warns(drift, tmp_path, capsys, monkeypatch):
    from data_curation.scorers import clip

    monkeypatch.setattr(clip, "_WARNED", False)  # said once a process: another test in this worker may have
    out = tmp_path / "out"  # the clip scorer without weights: aesthetic and clip_score null in every row
    with pytest.warns(UserWarning, match="no local weights"):  # what curate run says; filter said nothing
        run([str(drift)], out, "quick", ["scorers=[motion, clip]", "rules=[]"], workers=0, progress=False)
    t = pq.read_table(out / "manifest.parquet", columns=["aesthetic", "clip_score"])
    assert t.num_rows == 1 and t.column("aesthetic").null_count == 1
    err, rows = _filter(out, capsys, "rules=[{column: aesthetic, min: 5}, {column: motion_mean, min: 0.01}]")
    assert err == ["warning: recipe rule on column 'aesthetic' not applied: every value is null (its scorer did "
                   "not run, or had no model weights)"]
    assert rows == [(True, None)]
    assert _filter(out, capsys, "rules=[{column: motion_mean, min: 0.01}]")[0] == []
