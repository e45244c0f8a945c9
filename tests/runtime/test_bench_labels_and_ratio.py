"""What the smaller bench scripts say: bench/traffic.py's ratio to its peer (the README says every
bench prints one), bench/curate.py's --help, bench/edit.py's name for its baseline upscaler."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"


def test_traffic_prints_and_records_ours_over_wans_bytes(tmp_path, run_script):
    out = tmp_path / "traffic.json"
    p = run_script(BENCH / "traffic.py", "--size", "tiny", "--frames", "5,9", "--height", "64", "--width", "96",
                   "--text-len", "16", "--json", out, cwd=ROOT)
    assert p.returncode == 0
    rows = json.loads(out.read_text())["rows"]
    for frames in (5, 9):
        ours, wan = (r for r in rows if r["frames"] == frames)
        total = {id(r): r["gemm_gb"] + r["attention_gb"] + r["other_gb"] for r in (ours, wan)}  # from the parts
        ratio = total[id(ours)] / total[id(wan)]
        assert ours["model"] == "ours (DiT)" and abs(ours["bytes_vs_wan"] - ratio) < 1e-12
        assert f"{frames} frames: ours moves {total[id(ours)]:.1f} GB, Wan {total[id(wan)]:.1f} GB: " \
               f"{ratio:.2f}x Wan's bytes" in p.stdout.splitlines(), p.stdout


def test_curate_help_describes_the_bench_and_its_flags(run_script):
    p = run_script(BENCH / "curate.py", "--help", cwd=ROOT)
    assert p.returncode == 0
    assert "Curation benchmark: our cut detector beside PySceneDetect" in p.stdout
    flat = " ".join(p.stdout.split())
    assert "--size SIZE WIDTHxHEIGHT of the montage" in flat and "--repeat REPEAT rounds of each timing" in flat


def test_edit_names_its_baseline_bicubic_plus_unsharp_mask(tmp_path, run_script):
    out = tmp_path / "edit.json"
    p = run_script(BENCH / "edit.py", "--upscale-only", "--sr-models", "bicubic", "--sr-frames", "2", "--refine", "",
                   "--json", out, cwd=ROOT)
    assert p.returncode == 0
    rows = [ln for ln in p.stdout.splitlines() if ln.startswith(("bikes", "bigbuckbunny"))]
    assert len(rows) == 2 and all(" bicubic + unsharp mask " in ln for ln in rows), p.stdout
