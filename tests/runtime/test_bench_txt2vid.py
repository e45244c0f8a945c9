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
    assert got == {(m, o) for m in ("ours (DiT)", "diffusers WanTransformer3DModel") for o in ("torch", "cudnn")}
    assert all(row["tflop"] > 0 and row["seconds"] > 0 for row in r["rows"])
    kernels = {a["kernel"]: a for a in r["attention"]}
    assert set(kernels) == {"flash", "cudnn", "efficient", "math"}
    assert "seconds" in kernels["math"] and "seconds" in kernels["flash"]  # the CPU serves these two
    assert "error" in kernels["cudnn"]  # and not cuDNN's: recorded, not a crash


def test_dit_levers_bench_smoke(tmp_path, run_script):
    """bench/dit_levers.py (issue 4's compiled-variant run) end to end on CPU, eager: every
    variant and Wan get a row, each of ours is scored against the first, and the attention
    rows cover the self- and the cross-attention shape."""
    out = tmp_path / "levers.json"
    p = run_script(ROOT / "bench" / "dit_levers.py", "--size", "tiny", "--frames", "5", "--reps", "1", "--no-compile",
                   "--variants", "both,plain,wan,tokens_major,fused_gelu", "--json", out, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads(out.read_text())
    rows = {row["variant"]: row for row in r["rows"]}
    assert set(rows) == {"both", "plain", "diffusers Wan", "tokens_major", "fused_gelu"}
    assert all("error" not in row and row["seconds"] > 0 for row in rows.values())
    # on a CPU neither switch changes the numbers (same maths; the GELU epilogue is CUDA-only)
    for name in ("both", "plain", "tokens_major", "fused_gelu"):
        assert rows[name]["rel_l2_vs_first"] < 1e-5, name
    assert {(a["tokens"], a["kv_tokens"]) for a in r["attention"]} == {(r["tokens"], r["tokens"]), (r["tokens"], 16)}
