"""bench/txt2vid.py runs end to end on CPU with the tiny sizes (the GPU run is one prepared call):
every model under every attention-kernel order, and the attention-only rows."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_txt2vid_bench_smoke(tmp_path, run_script):
    out = tmp_path / "t2v.json"
    p = run_script(ROOT / "bench" / "txt2vid.py", "--size", "tiny", "--frames", "9", "--reps", "1", "--json", out,
                   cwd=ROOT)
    assert p.returncode == 0
    r = json.loads(out.read_text())
    got = {(row["model"], row["sdpa"]) for row in r["rows"]}
    assert got == {(m, o) for m in ("ours (DiT)", "diffusers WanTransformer3DModel") for o in ("torch", "cudnn")} | {
        ("ours (DiT), tokens-major qkv", "torch")}
    assert all(row["tflop"] > 0 and row["seconds"] > 0 for row in r["rows"])
    kernels = {a["kernel"]: a for a in r["attention"]}
    assert set(kernels) == {"flash", "cudnn", "efficient", "math"}
    assert "seconds" in kernels["math"] and "seconds" in kernels["flash"]  # the CPU serves these two
    assert "error" in kernels["cudnn"]  # and not cuDNN's: recorded, not a crash
