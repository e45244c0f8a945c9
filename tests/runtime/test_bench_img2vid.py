"""bench/img2vid.py: imports without PyAV / imageio-ffmpeg (the GPU machine has neither) and
runs its CPU rows end to end on the tiny model, skipping the CUDA-only rows with a reason."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_imports_without_pyav_or_imageio_ffmpeg():
    code = ("import sys, importlib.util\n"
            "sys.modules['av'] = None\nsys.modules['imageio_ffmpeg'] = None\n"
            f"spec = importlib.util.spec_from_file_location('b', {str(ROOT / 'bench/img2vid.py')!r})\n"
            "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


def test_bench_cpu_rows(tmp_path, run_script):
    """Runs in this process (``run_script``); the test above imports the script in a fresh one."""
    js = tmp_path / "img2vid.json"
    out = run_script(ROOT / "bench" / "img2vid.py", "--model", "tiny", "--device", "cpu", "--frames", "2", "--steps",
                     "3", "--only", "eager,cudnn,lowmem,compiled,fast,warm,cudagraphs", "--cache-threshold", "0.5",
                     "--profile", "--json", js, cwd=ROOT, quiet=True)
    assert out.returncode == 0
    res = json.loads(js.read_text())
    rows = {r["row"]: r for r in res["rows"]}
    assert set(rows) == {"eager", "cudnn", "lowmem", "fast"} and not any("error" in r for r in rows.values())
    assert {s["row"] for s in res["skipped"]} == {"compiled", "warm", "cudagraphs"}
    assert "skip compiled:" in out.stdout and "skip cudagraphs:" in out.stdout
    assert rows["lowmem"]["psnr_vs_eager_db"] is None  # identical frames: inf PSNR, null in JSON
    assert rows["cudnn"]["psnr_vs_eager_db"] is None  # a CPU has no cuDNN attention: the same kernel
    fast = rows["fast"]
    assert fast["skipped_evaluations"] >= 1 and fast["psnr_vs_exact_db"] < 100
    for r in rows.values():
        assert r["seconds"] > 0 and r["unet_tflops"] > 0
        assert r["flicker"] is None  # two frames: flicker needs three (eval.temporal), not a perfect 0
    prof = res["profile"]  # --profile: the top ops of a 2-step video of ours, eager on a CPU
    assert prof["what"].endswith("eager") and len(prof["kernels"]) >= 10
    assert any("conv" in k["name"] for k in prof["kernels"]) and all(k["self_ms"] >= 0 for k in prof["kernels"])
