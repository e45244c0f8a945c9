"""Models set for a recipe that does not run the clip scorer are said to be ignored (every
caption stayed null without a word) and are not part of what a source was scored under, so a
run with and without them resumes each other; parts keyed with them by earlier versions stay
done. A run that cuts no clip says why in counts (it printed only ``"clips": 0``). Real runs
through ``curate``'s ``main`` on real files."""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import warnings
from dataclasses import asdict
from types import SimpleNamespace

import imageio_ffmpeg
import pyarrow.parquet as pq
import pytest

from data_curation.cli import main, no_clips_line
from data_curation.manifest import RECIPE_KEY
from data_curation.recipe import absolute_models, load_recipe, model_fingerprints, scoring_key

UNUSED = ("warning: models.captioner is set but recipe 'quick' does not run the clip scorer, so no model is loaded: "
          "add it with --set 'scorers=[motion,sharpness,brightness,black_frozen,borders,phash,clip]'")


def _key_when_models_always_counted(r) -> str:
    """:func:`scoring_key` as versions before this one computed it (today's defaults: scorers
    sorted, model paths absolute, no split.extract): the models and their files in the key
    whatever the scorers."""
    from data_curation.cuts import CUT_VERSION
    from data_curation.scorers import SCORERS

    d = asdict(absolute_models(r))
    for k in ("name", "rules", "max_phash_distance"):
        d.pop(k)
    d["cuts"].pop("threads")
    d["split"].pop("extract")
    d["scorers"] = sorted(set(r.scorers))
    d["versions"] = {n: importlib.import_module(SCORERS[n]).Scorer.version for n in r.scorers}
    if files := model_fingerprints(r):
        d["model_files"] = files
    if CUT_VERSION > 1:
        d["cut_version"] = CUT_VERSION
    return hashlib.sha1(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


@pytest.fixture()
def captioner(tmp_path):
    """A folder that passes the recipe's model checks (config.json, safetensors weights): never
    loaded, since quick runs no clip scorer."""
    f = tmp_path / "blip"
    f.mkdir()
    (f / "config.json").write_text('{"model_type": "blip"}')
    (f / "model.safetensors").write_bytes(b"weights")
    return f


def _run(capsys, src, out, *words: str) -> tuple[dict, list[str]]:
    """``curate run SRC --out OUT --workers 0 --quiet WORDS``: its summary and stderr lines."""
    assert main(["run", str(src), "--out", str(out), "--workers", "0", "--quiet", *words]) == 0
    got = capsys.readouterr()
    return json.loads(got.out), got.err.splitlines()


def test_models_without_the_clip_scorer_are_said_ignored_and_do_not_rescore(src, tmp_path, capsys, captioner):
    out, cap = tmp_path / "out", f"models.captioner={captioner}"
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # said once though run loads the recipe after the CLI's package check
        s, err = _run(capsys, src, out, "--set", cap)
    assert s["processed"] == 1 and err == [UNUSED]
    s, err = _run(capsys, src, out)  # without the --set: nothing to rescore, nothing to say
    assert (s["processed"], s["skipped"], err) == (0, 1, [])
    s, err = _run(capsys, src, out, "--set", cap)
    assert (s["processed"], s["skipped"], err) == (0, 1, [UNUSED])
    # the clip scorer listed: the models count, and its columns need scoring anyway
    s, _ = _run(capsys, src, out, "--set", "scorers=[motion,clip]", "rules=[]")
    assert s["processed"] == 1


def test_a_part_keyed_with_unused_models_by_an_earlier_version_is_still_done(src, tmp_path, capsys, captioner):
    out, cap = tmp_path / "out", f"models.captioner={captioner}"
    assert _run(capsys, src, out, "--set", cap)[0]["processed"] == 1
    with pytest.warns(UserWarning, match="models.captioner is set but"):
        recipe = load_recipe("quick", [cap])
    old = _key_when_models_always_counted(recipe)
    assert old != scoring_key(recipe)
    (part,) = (out / "parts").glob("*.parquet")
    table = pq.read_table(part)
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, RECIPE_KEY.encode(): old.encode()}),
                   part)  # as the previous version wrote it
    s, _ = _run(capsys, src, out, "--set", cap)
    assert (s["processed"], s["skipped"]) == (0, 1)
    # ...while the recipe without the models never wrote that key: it is not taken for done
    s, _ = _run(capsys, src, out)
    assert (s["processed"], s["skipped"]) == (1, 0)


def _ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *args], check=True)


@pytest.fixture(scope="module")
def one_frame(tmp_path_factory):
    """A folder with a 1-frame H.264 video."""
    d = tmp_path_factory.mktemp("one_frame")
    _ffmpeg("-f", "lavfi", "-i", "testsrc=s=160x120:r=25", "-frames:v", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            str(d / "single.mp4"))
    return d


def test_a_run_of_one_too_short_video_says_why_it_has_no_clips(one_frame, tmp_path, capsys):
    s, err = _run(capsys, one_frame, tmp_path / "out")
    assert (s["sources"], s["clips"], s["sources_without_clips"]) == (1, 0, 1)
    assert err == ["no clips: 1 source without a shot of split.min_s=2 s or longer"]


def test_a_run_of_short_and_broken_files_says_both_counts(one_frame, tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "single.mp4").write_bytes((one_frame / "single.mp4").read_bytes())
    for name in ("a", "b", "c"):
        (src / f"{name}.mp4").write_bytes(b"not a video " + name.encode())
    s, err = _run(capsys, src, tmp_path / "out", "--set", "split.min_s=1.5")  # exit 0: not every source failed
    assert (s["failed"], s["sources_without_clips"], s["clips"]) == (3, 1, 0)
    assert err[-1] == "no clips: 1 source without a shot of split.min_s=1.5 s or longer, 3 sources failed"
    assert err[0].startswith("3 of 4 sources failed")  # the failures' own line is still there


def test_a_run_whose_every_source_failed_still_exits_1_and_counts_them(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.mp4").write_bytes(b"")
    assert main(["run", str(src), "--out", str(tmp_path / "out"), "--workers", "0", "--quiet"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == "no clips: 1 source failed"


def test_the_no_clips_line_counts():
    split = SimpleNamespace(min_s=2.0, trim_s=0.25)
    base = {"sources": 5, "clips": 0, "failed": 2, "sources_without_clips": 3}
    assert no_clips_line(base, split) == ("no clips: 3 sources without a shot of split.min_s=2 s or longer after "
                                          "trimming split.trim_s=0.25 s at each end, 2 sources failed")
    assert no_clips_line({**base, "clips": 1}, split) is None
    assert no_clips_line({**base, "sources": 0}, split) is None  # no video: run says its own line
