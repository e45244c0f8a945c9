"""What a walk through the ``curate`` CLI on real footage found: a wrong ``--ray-address`` is one
line at once and leaves no OUT, negative worker and thread counts are refused before any work,
``filter`` checks rules against the manifest's columns, a rescored source's old clip files go,
``--debug`` after the subcommand, macOS sidecars, empty files and truncated files in ``cuts``.
No test here starts Ray (each start costs ~8 s): the address is refused before it would."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_curation.cli import main, parser
from data_curation.engine import check_ray_address, ray_host_port, run, score_source
from data_curation.manifest import source_key
from data_curation.probe import discover, probe_row
from data_curation.recipe import load_recipe
from video.media import ffmpeg_exe

CLI = [sys.executable, "-m", "data_curation.cli"]


def _closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- 1. a wrong --ray-address ----------------------------------------------------------------

def test_ray_host_port():
    assert ray_host_port("127.0.0.1:6379") == ("127.0.0.1", 6379)
    assert ray_host_port("ray://head.example:10001") == ("head.example", 10001)
    assert ray_host_port("[::1]:6379") == ("::1", 6379)
    assert ray_host_port("auto") is None and ray_host_port("local") is None  # Ray's own names


def test_a_wrong_ray_address_is_one_line_at_once_and_leaves_no_out(src, tmp_path):
    """Before: ray.init retried for over 10 minutes ("Failed to connect to GCS"), and OUT was
    made. The subprocess's timeout bounds the test if the check is gone."""
    out = tmp_path / "o2"
    addr = f"127.0.0.1:{_closed_port()}"
    t0 = time.monotonic()
    p = subprocess.run([*CLI, "run", str(src), "--out", str(out), "--workers", "2", "--ray-address", addr,
                        "--quiet"], capture_output=True, text=True, timeout=90)
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and addr in p.stderr and "cannot connect" in p.stderr, p.stderr
    assert time.monotonic() - t0 < 60 and not out.exists()


def test_ray_address_from_the_environment_is_checked_too(src, tmp_path, monkeypatch):
    """ray.init reads RAY_ADDRESS when given no address; it was neither checked nor kept apart from
    the local session's options."""
    addr = f"127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("RAY_ADDRESS", addr)
    with pytest.raises(ConnectionError, match=addr.replace(".", "\\.")):
        run([str(src)], tmp_path / "o", "quick", workers=2, progress=False)
    assert not (tmp_path / "o").exists()


def test_a_ray_head_passes_the_check_and_other_servers_do_not():
    """A port that accepted TCP but was no Ray head (a web server, the dashboard, a silent one)
    passed the connect check, then ray.init waited there for minutes."""
    import http.server
    import threading

    ray = pytest.importorskip("ray")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        check_ray_address(ray.get_runtime_context().gcs_address)  # a real GCS: no error
    finally:
        ray.shutdown()
    web = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ConnectionError, match="not a Ray head"):
            check_ray_address(f"127.0.0.1:{web.server_address[1]}")
    finally:
        web.shutdown()
        web.server_close()
    with socket.socket() as s:  # accepts, says nothing
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        t0 = time.monotonic()
        with pytest.raises(ConnectionError, match="not a Ray head"):
            check_ray_address(f"127.0.0.1:{s.getsockname()[1]}", timeout=1.0)
        assert time.monotonic() - t0 < 10
    with pytest.raises(ValueError, match="not a TCP port"):
        check_ray_address("127.0.0.1:70000")


# --- 2. negative counts ----------------------------------------------------------------------

def test_negative_workers_and_threads_are_refused_before_any_work(src, tmp_path, capsys):
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as e:
        main(["run", str(src), "--out", str(out), "--workers", "-1", "--quiet"])
    assert e.value.code == 2 and "--workers: must be 0 or more" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--workers must be 0"):
        run([str(src)], out, "quick", workers=-1, progress=False)
    assert not out.exists()  # nor OUT/.ray: Ray never started
    with pytest.raises(SystemExit) as e:
        main(["cuts", str(src / "pan.mp4"), "--threads", "-2"])
    assert e.value.code == 2 and "--threads: must be 0 or more" in capsys.readouterr().err
    assert parser().parse_args(["run", "x", "--out", "o", "--workers", "0"]).workers == 0  # 0: no Ray


def test_an_out_this_run_made_is_removed_when_nothing_went_into_it(src, tmp_path):
    """A model that passes the recipe check but does not load stops the run before any source:
    the OUT it made is not left behind empty."""
    clip = tmp_path / "clip"
    clip.mkdir()
    (clip / "config.json").write_text(json.dumps({"model_type": "clip", "projection_dim": 8,
                                                  "text_config": {"hidden_size": 8, "intermediate_size": 8,
                                                                  "num_hidden_layers": 1, "num_attention_heads": 1},
                                                  "vision_config": {"hidden_size": 8, "intermediate_size": 8,
                                                                    "num_hidden_layers": 1,
                                                                    "num_attention_heads": 1}}))
    (clip / "model.safetensors").write_bytes(b"not safetensors")
    out = tmp_path / "o"
    with pytest.raises(ValueError, match="cannot load a CLIP model"):
        run([str(src)], out, "quick", [f"models.clip={clip}", "scorers=[motion,clip]", "rules=[]"], workers=0,
            progress=False)
    assert not out.exists()


# --- 3. filter checks rules against the manifest ---------------------------------------------

def test_filter_takes_a_rule_on_any_column_the_manifest_has(src, tmp_path, capsys):
    """A manifest scored with ocr (its text_area column, here written in) is filtered by the quick
    recipe, which lists no ocr: the rule applies to the manifest's numbers."""
    out = tmp_path / "out"
    run([str(src)], out, "quick", ["split.min_s=0.5", "split.max_s=0.5", "rules=[]"], workers=0, progress=False)
    m = out / "manifest.parquet"
    t = pq.read_table(m)
    area = [0.01 * (i + 1) for i in range(t.num_rows)]  # 0.01 .. 0.06
    pq.write_table(t.append_column("text_area", pa.array(area, pa.float64())).replace_schema_metadata(
        t.schema.metadata), m)
    assert main(["filter", str(out), "--recipe", "quick", "--set", "rules=[{column: text_area, max: 0.035}]",
                 "max_phash_distance=null"]) == 0
    rows = pq.read_table(m).to_pylist()
    assert [r["keep"] for r in rows] == [a <= 0.035 for a in area] and len(rows) == 6
    assert {r["drop_reason"] for r in rows if not r["keep"]} == {"text_area>0.035"}
    assert json.loads(capsys.readouterr().out)["kept"] == 3
    with pytest.raises(Exception, match="'ocr' scorer, which recipe 'quick' does not list"):
        load_recipe("quick", ["rules=[{column: text_area, max: 0.05}]"])  # a run would never make the column
    # a numeric column of the user's own, which no scorer makes, filters too
    t = pq.read_table(m)
    pq.write_table(t.append_column("my_score", pa.array(area[::-1], pa.float64())).replace_schema_metadata(
        t.schema.metadata), m)
    assert main(["filter", str(out), "--recipe", "quick", "--set", "rules=[{column: my_score, min: 0.035}]",
                 "max_phash_distance=null"]) == 0
    assert [r["keep"] for r in pq.read_table(m).to_pylist()] == [a >= 0.035 for a in area[::-1]]


# --- 4. a rescored source's old clip files ---------------------------------------------------

def test_rescoring_removes_the_source_clip_files_the_manifest_no_longer_lists(tmp_path, pan):
    """Run 1 cuts each 3 s shot into 1 s clips, run 2 (one source only) into one 3 s clip: that
    source's old clip files go; the other source's (not in run 2: its part still lists them)
    and a file not named as curate names clips stay."""
    src = tmp_path / "src"
    src.mkdir()
    a, b = pan(src / "a.mp4"), pan(src / "b.mp4")
    out = tmp_path / "out"
    clips = out / "clips"
    split = ["split.extract=true", "split.min_s=1", "rules=[]"]
    s1 = run([str(src)], out, "quick", [*split, "split.max_s=1"], workers=0, progress=False)
    name = {p: (lambda s, e, p=p: _clip_name(p, s, e)) for p in (a, b)}
    first = {name[p](s, s + 10) for p in (a, b) for s in (0, 10, 20)}
    assert s1["clips"] == 6 and {f.name for f in clips.iterdir()} == first
    (clips / "mine.mp4").write_bytes(b"a user's file")
    (clips / f".{name[a](5, 15)[:-4]}.partial.mp4").write_bytes(b"")  # a killed extraction's temp file
    s2 = run([str(a)], out, "quick", [*split, "split.max_s=10"], workers=0, progress=False)
    kept_b = {name[b](s, s + 10) for s in (0, 10, 20)}
    assert {f.name for f in clips.iterdir()} == {name[a](0, 30), "mine.mp4"} | kept_b
    assert s2["clips_removed"] == 4  # a's three 1 s clips and the temp file
    listed = {Path(p).name for p in pq.read_table(out / "manifest.parquet").column("clip_path").to_pylist()}
    assert listed == {name[a](0, 30)}
    after_2 = {f.name for f in clips.iterdir()}
    # a rerun that leaves out split.extract=true scores again and extracts nothing: no clip is removed
    s3 = run([str(a)], out, "quick", ["split.min_s=1", "rules=[]", "split.max_s=10"], workers=0, progress=False)
    assert s3["clips_removed"] == 0 and {f.name for f in clips.iterdir()} == after_2
    # a source that fails when scored again (caught mid-copy, a drive gone) keeps its clip files
    a.write_bytes(a.read_bytes()[:2000])
    s4 = run([str(a)], out, "quick", [*split, "split.max_s=10"], workers=0, progress=False)
    assert s4["failed"] == 1 and s4["clips_removed"] == 0 and {f.name for f in clips.iterdir()} == after_2


def _clip_name(source: Path, start: int, end: int) -> str:
    """The file name curate gives a clip: the source's key and its frame range."""
    return f"{source_key(source)}_{start:06d}_{end:06d}.mp4"


# --- 5. small ones ---------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["--debug", "run", "x", "--out", "o"], ["run", "x", "--out", "o", "--debug"],
                                  ["probe", "x", "--debug"], ["filter", "o", "--recipe", "quick", "--debug"]])
def test_debug_before_or_after_the_subcommand(argv):
    assert parser().parse_args(argv).debug is True


def test_debug_unset_is_false():
    assert parser().parse_args(["run", "x", "--out", "o"]).debug is False


def test_macos_sidecars_are_no_sources(src, tmp_path, capsys):
    d = tmp_path / "card"
    d.mkdir()
    (d / "pan.mp4").write_bytes((src / "pan.mp4").read_bytes())
    (d / "._pan.mp4").write_bytes(b"\x00\x05\x16\x07" + bytes(4092))  # an AppleDouble header
    assert [p.name for p in discover([d])] == ["pan.mp4"]
    assert [p.name for p in discover([d / "._pan.mp4"])] == ["._pan.mp4"]  # named directly: taken
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "'._*' are skipped" in " ".join(capsys.readouterr().out.split())


def test_an_empty_file_is_said_to_be_empty(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    rows = score_source(str(empty), load_recipe("quick"), tmp_path / "out")
    assert len(rows) == 1 and "empty file (0 bytes)" in rows[0]["error"]
    assert "empty file (0 bytes)" in probe_row(empty)["error"]


def test_cuts_warns_on_a_truncated_file_as_run_marks_it(tmp_path, curate):
    whole = tmp_path / "whole.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=6",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(whole)],
                   check=True, timeout=120)
    data = whole.read_bytes()
    half = tmp_path / "half.mp4"
    half.write_bytes(data[: len(data) // 2])  # moov first: the first half still plays
    p = curate("cuts", half, "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["shots"]  # stdout stays one JSON document
    assert p.stderr.startswith("warning: ") and "truncated or damaged" in p.stderr and "of the 150 frames" in p.stderr
    row = score_source(str(half), load_recipe("quick"), tmp_path / "out")[0]
    assert row["error"].removeprefix("MediaError: ") in p.stderr  # run's words
    q = curate("cuts", whole, "--json")
    assert q.returncode == 0 and not q.stderr
