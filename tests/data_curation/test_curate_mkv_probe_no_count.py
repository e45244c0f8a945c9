"""``curate run`` probes a WebM or Matroska source without decoding it to count its frames (that
decode was 2-3 s of CPU per 30 s of 720p, and its count was the cut detector's own, so the
truncation check it fed could not fire); the rows are those of the same stream in an MP4,
whose header stores the count. ``curate probe`` still counts."""

import subprocess

import pytest

from data_curation import engine
from data_curation.recipe import load_recipe
from video.media import ffmpeg_exe, probe_video


def _remux(src, dest, *args):
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", *args, "-i", str(src), "-c", "copy", str(dest)],
                   check=True)
    return dest


@pytest.fixture(scope="module")
def twins(montage, tmp_path_factory):
    """The montage (MP4, a stored count) and the same packets in Matroska (no count)."""
    mp4 = montage[0]
    return mp4, _remux(mp4, tmp_path_factory.mktemp("mkv") / "montage.mkv")


def test_probe_without_count_decodes_one_frame(twins, tmp_path):
    mp4, mkv = twins
    counted = probe_video(mkv)
    assert counted["num_frames"] == probe_video(mp4)["num_frames"] > 0  # curate probe's count stands
    fast = probe_video(mkv, count=False)
    assert fast["num_frames"] is None  # not counted
    assert {k: v for k, v in fast.items() if k != "num_frames"} == {k: v for k, v in counted.items()
                                                                   if k != "num_frames"}
    assert probe_video(mp4, count=False) == probe_video(mp4)  # a stored count is read, not decoded
    rotated = _remux(mp4, tmp_path / "rotated.mkv", "-display_rotation", "90")
    assert probe_video(rotated, count=False)["rotation"] == 90  # the first frame is still read for it


def test_curate_run_scores_an_mkv_as_its_mp4_twin_without_counting_it(twins, tmp_path, monkeypatch):
    mp4, mkv = twins
    probed = []

    def spy(path, *args, **kwargs):  # the real probe, its answer recorded
        info = probe_video(path, *args, **kwargs)
        probed.append(info["num_frames"])
        return info

    monkeypatch.setattr(engine, "probe_video", spy)
    recipe = load_recipe("quick", ["split.min_s=1.0"])  # several clips: the montage's shots are 1.3-2 s
    rows = {p.suffix: engine.score_source(str(p), recipe, tmp_path) for p in (mp4, mkv)}
    assert probed[1] is None  # the MKV was not decoded to be counted
    drop = {"source", "clip_id"}
    assert len(rows[".mkv"]) == len(rows[".mp4"]) > 1
    for a, b in zip(rows[".mp4"], rows[".mkv"], strict=True):
        assert a["error"] is None and a["source_frames"] == probed[0]
        assert {k: v for k, v in a.items() if k not in drop} == {k: v for k, v in b.items() if k not in drop}
