"""bench/traffic.py: the byte count of a kernel is what it reads plus what it writes, views cost
nothing, and attention is counted as one fused kernel (closed-form sizes)."""

import importlib.util
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parents[2]


def load_bench():
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("bench_traffic", ROOT / "bench" / "traffic.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_linear_view_and_attention_bytes():
    t = load_bench()
    with torch.device("meta"):
        lin = nn.Linear(64, 96).to(torch.bfloat16)
        x = torch.empty(2, 10, 64, dtype=torch.bfloat16)

    def fn():
        y = lin(x).view(2, 10, 3, 32).transpose(1, 2)   # views: free
        o = torch.nn.functional.scaled_dot_product_attention(y, y, y)
        return (o * 2).float()

    r = t.count(fn)
    b = 2  # bytes per bf16 element
    # addmm reads x (20x64), W (96x64), bias (96), writes 20x96
    assert r["gemm_gb"] * 1e9 == pytest.approx(b * (20 * 64 + 96 * 64 + 96 + 20 * 96), rel=1e-12)
    assert r["gemm_calls"] == 1
    assert r["attention_calls"] == 1 and r["attention_gb"] * 1e9 == pytest.approx(4 * b * 2 * 3 * 10 * 32, rel=1e-12)
    n = 2 * 3 * 10 * 32
    assert r["by_op"]["mul"]["gb"] * 1e9 == pytest.approx(2 * b * n, rel=1e-12)  # reads o, writes o*2 (the 2 is a Python number)
    assert r["by_op"]["_to_copy"]["gb"] * 1e9 == pytest.approx(b * n + 4 * n, rel=1e-12)
    assert set(r["by_op"]) == {"mul", "_to_copy"}


def test_traffic_bench_tiny(tmp_path, run_script):
    out = tmp_path / "traffic.json"
    p = run_script(ROOT / "bench" / "traffic.py", "--size", "tiny", "--frames", "9", "--height", "64", "--width", "96",
                   "--text-len", "16", "--json", out, cwd=ROOT)
    assert p.returncode == 0
    assert "ours (DiT)" in p.stdout and out.exists()
