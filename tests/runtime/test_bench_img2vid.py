"""bench/img2vid.py: runs its main() without PyAV / imageio-ffmpeg (the GPU machine has neither)
and its CPU rows end to end on the tiny model, skipping the CUDA-only rows with a reason; the
compiled and fast rows run on a CPU with dynamo's eager backend (traced, no code generated)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def load_bench():
    """bench/img2vid.py as a module (its top level only: imports and helpers)."""
    spec = importlib.util.spec_from_file_location("bench_img2vid", BENCH / "img2vid.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_main_runs_without_pyav_or_imageio_ffmpeg(tmp_path):
    """A fresh process with both blocked runs main() on the bench path: diffusers' row and our
    eager row. Both decode the 3 frames in one window here, so our frames match diffusers'
    closely (``psnr_vs_diffusers_db``; on CPU ~80 dB at random weights)."""
    js = tmp_path / "i2v.json"
    code = ("import runpy, sys, warnings\n"
            "sys.modules['av'] = None\nsys.modules['imageio_ffmpeg'] = None\nwarnings.simplefilter('ignore')\n"
            f"sys.argv = ['img2vid.py', '--model', 'tiny', '--device', 'cpu', '--frames', '3', '--steps', '2',"
            f" '--only', 'diffusers,eager', '--json', {str(js)!r}]\n"
            f"runpy.run_path({str(BENCH / 'img2vid.py')!r}, run_name='__main__')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(js.read_text())
    rows = {r["row"]: r for r in res["rows"]}
    assert set(rows) == {"diffusers", "eager"} and not any("error" in r for r in rows.values())
    assert res["diffusers_decode_chunk"] == res["our_decode_chunk"] == 3  # the same decode window
    assert rows["eager"]["psnr_vs_diffusers_db"] > 40
    assert rows["diffusers"]["psnr_vs_eager_db"] == pytest.approx(rows["eager"]["psnr_vs_diffusers_db"])


def test_bench_cpu_rows(tmp_path, run_script, monkeypatch):
    """Runs in this process (``run_script``). Rows in ``ROWS``' order: the warm row (skipped
    here: it needs CUDA) comes before the fast row, and the fast row after a compiled row times
    its first video and counts the graphs that video compiled."""
    import torch._dynamo

    cfg = torch._dynamo.config  # compile_blocks raises the recompile limit: undone after the test
    limit = "recompile_limit" if hasattr(cfg, "recompile_limit") else "cache_size_limit"
    monkeypatch.setattr(cfg, limit, getattr(cfg, limit))
    js = tmp_path / "img2vid.json"
    try:
        out = run_script(BENCH / "img2vid.py", "--model", "tiny", "--device", "cpu", "--frames", "2", "--steps",
                         "3", "--only", "diffusers,eager,cudnn,lowmem,compiled,fast,warm,cudagraphs", "--cache-threshold",
                         "0.5", "--compile-backend", "eager", "--compile-cache", tmp_path / "cc", "--profile",
                         "--json", js, cwd=ROOT, quiet=True)
    finally:
        torch._dynamo.reset()
    assert out.returncode == 0
    res = json.loads(js.read_text())
    rows = {r["row"]: r for r in res["rows"]}
    assert [r["row"] for r in res["rows"]] == ["diffusers", "eager", "lowmem", "compiled", "fast", "cudnn"]
    assert not any("error" in r for r in rows.values())
    assert {s["row"] for s in res["skipped"]} == {"warm", "cudagraphs"}
    # labelled by what ran: the eager backend, and no offload on a CPU (set_offload warns and runs none)
    assert out.stdout.index("skip warm:") < out.stdout.index("ours fast (FBCache 0.5, compiled, eager backend)")
    assert "ours exact, compiled blocks (default, eager backend)" in out.stdout
    assert rows["lowmem"]["pipeline"] == "ours low memory (8 GiB decode budget)"
    assert rows["lowmem"]["offload"] == "none" and rows["lowmem"]["memory_cap_gib"] is None
    assert rows["fast"]["compile_backend"] == rows["compiled"]["compile_backend"] == "eager"
    assert "skip cudagraphs:" in out.stdout
    assert rows["lowmem"]["psnr_vs_eager_db"] is None  # identical frames: inf PSNR, null in JSON
    assert rows["cudnn"]["psnr_vs_eager_db"] is None  # a CPU has no cuDNN attention: the same kernel
    comp = rows["compiled"]
    assert comp["compile_backend"] == "eager" and comp["compiled_blocks"] > 0 and comp["first_video_seconds"] > 0
    assert comp["compile"]["stats"]["unique_graphs"] > 0
    fast = rows["fast"]
    assert fast["skipped_evaluations"] >= 1 and fast["psnr_vs_exact_db"] < 100 and fast["exact_row"] == "compiled"
    assert fast["first_video_seconds"] > 0  # timed, not an untimed warm-up
    assert fast["graphs_compiled"] == 0  # a CPU runs the compiled row's guided batch of two too: no recompile
    assert res["diffusers_decode_chunk"] == res["our_decode_chunk"] == 2  # one window each: close frames
    for name in ("eager", "lowmem", "compiled", "cudnn"):  # every row of ours against diffusers' frames
        assert rows[name]["psnr_vs_diffusers_db"] > 40, name
    assert rows["fast"]["psnr_vs_diffusers_db"] == pytest.approx(fast["psnr_vs_exact_db"], abs=3)
    # diffusers' pipeline times no phase: only its whole-video rate, under its own key (it was
    # ``steps_per_second``, beside ours over the denoise alone: ours read 4x faster per step)
    assert "steps_per_second" not in rows["diffusers"]
    for r in rows.values():
        assert r["seconds"] > 0 and (r["row"] == "diffusers" or r["unet_tflops"] > 0)
        assert r["flicker"] is None  # two frames: flicker needs three (eval.temporal), not a perfect 0
        assert r["whole_video_steps_per_second"] == pytest.approx(3 / r["seconds"])
        if r["row"] != "diffusers":
            assert r["steps_per_second"] == pytest.approx(3 / r["denoise_seconds"])
            assert r["steps_per_second"] > r["whole_video_steps_per_second"]
    table = out.stdout[out.stdout.index("\npipeline "):].splitlines()[1:]  # the head, then a line a row
    assert table[0][58:].split()[:4] == ["s/video", "steps/s", "vid", "st/s"]  # the denoise rate, the video's
    diff_line = next(ln for ln in table if ln.startswith("diffusers (decode chunk"))
    assert diff_line[58:].split()[1:3] == ["-", f"{rows['diffusers']['whole_video_steps_per_second']:.2f}"]
    prof = res["profile"]  # --profile: the top ops of a 2-step video of ours as the last row left it
    assert prof["what"].endswith("compiled") and len(prof["kernels"]) >= 10
    assert any("conv" in k["name"] for k in prof["kernels"]) and all(k["self_ms"] >= 0 for k in prof["kernels"])

    # the warm row reads the child's JSON, which is one such compiled row (``--only compiled``)
    child = tmp_path / "child.json"
    child.write_text(json.dumps({"rows": [comp]}))
    warm = load_bench().warm_start_row(child, wall=99.0)
    assert warm["first_video_seconds"] == comp["first_video_seconds"]
    assert warm["compile_setup_seconds"] == comp["compile_setup_seconds"]
    assert warm["artifacts_loaded"] is comp["artifacts_loaded"] is False  # the eager backend saves nothing
    assert warm["warm_start_seconds"] == pytest.approx(comp["first_video_seconds"] + comp["compile_setup_seconds"])
    assert warm["seconds"] == comp["seconds"] and warm["process_seconds"] == 99.0 and warm["error"] is None


def test_warm_start_row_without_child_json(tmp_path):
    """A child that wrote nothing (killed at its limit) is the warm row's error, with its stderr."""
    r = load_bench().warm_start_row(tmp_path / "missing.json", wall=240.0, stderr="timed out after 240 s")
    assert r["row"] == "warm" and "timed out after 240 s" in r["error"] and r["process_seconds"] == 240.0
    assert "warm_start_seconds" not in r



def test_the_eager_backend_compile_says_nothing_of_cpu_minutes():
    """``compile_ours`` with the eager backend generates no code, so the pipeline's warning that
    compiling on a CPU takes minutes would be false there; with inductor it is said."""
    import warnings

    import torch._dynamo

    from video.config import load_model_config
    from video.models.svd import build_random
    from video.runtime.img2vid import ImageToVideo

    # compile_blocks raises the recompile limit: put back after the test (not with monkeypatch,
    # whose undo hides torch's entry, as after test_bench_cpu_rows: then read as its default)
    cfg = torch._dynamo.config
    limit = "recompile_limit" if "recompile_limit" in cfg._config else "cache_size_limit"
    old = getattr(cfg, limit, None)
    bench = load_bench()
    try:
        for backend, said in (("eager", False), ("inductor", True)):
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                # a model of its own: compiling marks the units in place (the session's tiny_models is shared)
                bench.compile_ours(ImageToVideo(build_random(load_model_config("tiny"), seed=0)), "default", None,
                                   backend)
            assert any("compiling on the CPU" in str(w.message) for w in seen) is said, backend
    finally:
        torch._dynamo.reset()
        setattr(cfg, limit, cfg._config[limit].default if old is None else old)
