"""bench/txt2vid.py runs end to end on CPU with the tiny sizes (the GPU run is one prepared call):
every model under every attention-kernel order, and the attention-only rows; each row keeps its
per-repeat seconds, and each of ours its speed against Wan's row. bench/dit_levers.py likewise,
with its default variants and --profile."""

import json
import runpy
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def test_txt2vid_bench_smoke(tmp_path, run_script):
    out = tmp_path / "t2v.json"
    p = run_script(BENCH / "txt2vid.py", "--size", "tiny", "--frames", "9", "--reps", "2", "--json", out,
                   cwd=ROOT)
    assert p.returncode == 0
    r = json.loads(out.read_text())
    # on a CPU the cudnn order runs torch's CPU kernel: labelled by what ran, not "cudnn"
    orders = ("torch", "cudnn asked: cpu kernel")
    got = {(row["model"], row["sdpa"]) for row in r["rows"]}
    assert got == {(m, o) for m in ("ours (DiT)", "diffusers WanTransformer3DModel") for o in orders}
    assert all(row["tflop"] > 0 and row["seconds"] > 0 for row in r["rows"])
    for row in r["rows"]:  # the raw repeats: the spread is theirs
        assert len(row["times"]) == 2 and row["spread"] == [min(row["times"]), max(row["times"])]
    by = {(row["model"], row["sdpa"]): row for row in r["rows"]}
    for o in orders:
        ours, wan = by["ours (DiT)", o], by["diffusers WanTransformer3DModel", o]
        assert ours["speed_vs_wan"] == wan["seconds"] / ours["seconds"] and "speed_vs_wan" not in wan
        overlap = ours["spread"][0] <= wan["spread"][1] and wan["spread"][0] <= ours["spread"][1]
        assert ours["spread_overlaps_wan"] is overlap
        assert f"{ours['speed_vs_wan']:5.3f}x" in p.stdout  # printed in the table
    kernels = {a["kernel"]: a for a in r["attention"]}
    assert set(kernels) == {"flash", "cudnn", "efficient", "math"}
    assert "seconds" in kernels["math"] and "seconds" in kernels["flash"]  # the CPU serves these two
    assert "error" in kernels["cudnn"]  # and not cuDNN's: recorded, not a crash
    said = kernels["cudnn"]["error"]  # printed whole, ending at a sentence end (it was cut at 70 characters)
    assert said.endswith(".") and f"cudnn               4x{r['attention'][0]['tokens']}x" in p.stdout
    assert any(ln.endswith(said) for ln in p.stdout.splitlines()), p.stdout
    assert r["skipped"] == []  # a CPU runs every attention kernel it has
    table = [ln for ln in p.stdout.splitlines() if ln.startswith(("ours (DiT) ", "diffusers WanTransformer3DModel "))]
    assert len(table) == 4 and all(" n/a " in ln and "%" not in ln for ln in table), p.stdout  # no CPU peak


def test_attention_rows_skipped_are_named_with_the_reason(monkeypatch):
    """On a GPU the math kernel's self-attention row is not run (it materialises N x N): it was
    left out of the JSON without a word; the CPU runs every row."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts the repo first on it
    t2v = runpy.run_path(str(BENCH / "txt2vid.py"))
    skip, label = t2v["attention_skip"], t2v["sdpa_label"]
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert skip("math", cuda, None).startswith("math self-attention materialises the N x N scores")
    assert [skip(k, cuda, 512) for k in ("math", "flash")] == [None, None]  # cross-attention: M text keys
    assert [skip(k, cpu, None) for k in ("flash", "cudnn", "efficient", "math")] == [None] * 4
    assert (label("cudnn", cuda), label("torch", cuda)) == ("cudnn", "torch")
    assert (label("cudnn", cpu), label("torch", cpu)) == ("cudnn asked: cpu kernel", "torch")


def test_dit_levers_bench_smoke(tmp_path, run_script):
    """bench/dit_levers.py (issue 4's compiled-variant run) end to end on CPU, eager: every
    variant and Wan get a row, each of ours is scored against the first, and the attention
    rows cover the self- and the cross-attention shape."""
    out = tmp_path / "levers.json"
    p = run_script(BENCH / "dit_levers.py", "--size", "tiny", "--frames", "5", "--reps", "1", "--no-compile",
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


def test_dit_levers_default_variants_and_profile(tmp_path, run_script):
    """The default variant list as the GPU call runs it (eager here: --no-compile), with
    --profile: the profile is taken before the first variant that empties dynamo's cache
    (both_cg), so a run cut in the slow whole-model compile (both_whole, last) keeps it; every
    row keeps its repeats and each of ours its speed against Wan's."""
    out = tmp_path / "levers.json"
    p = run_script(BENCH / "dit_levers.py", "--size", "tiny", "--frames", "5", "--reps", "3", "--no-compile",
                   "--profile", "--json", out, cwd=ROOT)
    assert p.returncode == 0
    r = json.loads(out.read_text())
    # eager, both_cg / both_cdt / both_whole are both again: skipped, in one line
    assert "--no-compile: skipping both_cg, both_cdt, both_whole (they differ from both only in how they " \
           "compile)" in p.stdout.splitlines()
    assert [row["variant"] for row in r["rows"]] == ["both", "diffusers Wan"]
    # and the JSON says so, not only the output
    why = "--no-compile: it differs from both only in how it compiles"
    assert r["skipped"] == [{"variant": n, "why": why} for n in ("both_cg", "both_cdt", "both_whole")]
    assert all("error" not in row for row in r["rows"])
    assert list(r["profile"]) == ["both"] and len(r["profile"]["both"]) >= 5
    assert not [ln for ln in p.stdout.splitlines() if ln.strip().startswith(("both_cg", "both_cdt", "both_whole"))]
    errors = [a["error"] for a in r["attention"] if "error" in a]  # printed whole, not cut mid-sentence
    assert errors and all(e.endswith(".") and any(ln.endswith(e) for ln in p.stdout.splitlines()) for e in errors)
    wan = r["rows"][1]
    for row in r["rows"]:
        assert len(row["times"]) == 3 and row["spread"] == [min(row["times"]), max(row["times"])]
        if row is not wan:
            assert row["speed_vs_wan"] == wan["seconds"] / row["seconds"]
            assert isinstance(row["spread_overlaps_wan"], bool)
