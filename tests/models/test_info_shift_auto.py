"""``video info`` on our text-to-video folder says ``shift=auto`` where the folder stores 0, the
marker for "from the token count" (what a run does with it): it printed ``shift=0.0``, a value
``--shift 0`` refuses. A shift the folder sets is printed as set."""

from __future__ import annotations

import json

import pytest
import yaml


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    from video.runtime.txt2vid import build_tiny, save_t2v

    out = tmp_path_factory.mktemp("m") / "ours"
    save_t2v(build_tiny(), out)
    return out


def test_a_stored_zero_shift_is_auto(ours, cli):
    assert yaml.safe_load((ours / "video_pipeline.yaml").read_text())["sampling"]["shift"] == 0
    p = cli("info", ours)
    assert p.returncode == 0, p.stderr
    line = next(ln for ln in p.stdout.splitlines() if ln.strip().startswith("sampling:"))
    assert "shift=auto," in line and "shift=0" not in line, line
    assert json.loads(cli("info", ours, "--json").stdout)["sampling"]["shift"] == "auto"


def test_a_set_shift_is_printed(ours, cli, tmp_path):
    import shutil

    other = tmp_path / "ours"
    shutil.copytree(ours, other)
    cfg = yaml.safe_load((other / "video_pipeline.yaml").read_text())
    cfg["sampling"]["shift"] = 3.0
    (other / "video_pipeline.yaml").write_text(yaml.safe_dump(cfg))
    assert json.loads(cli("info", other, "--json").stdout)["sampling"]["shift"] == 3.0
