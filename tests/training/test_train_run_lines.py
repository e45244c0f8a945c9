"""What ``video train`` and the renderers say about a run: one line naming the run's
``config.yaml`` instead of the whole config (``--dry-run`` still prints it); no run folder left
behind by a run whose data or model fails; a LoRA run's head line with its rank, alpha and
trained parameters; ``--lora`` named, with its scale and layers, in ``txt2vid``'s notes."""

import re

import pytest
from safetensors import safe_open

from data_curation.manifest import RUN_DIR_KEY, to_table, write_atomic

TINY = ["steps=1", "batch_size=1", "data.frames=1", "data.height=16", "data.width=16", "data.size=2", "init_from="]


def test_a_run_names_its_config_file_and_prints_the_config_only_in_a_dry_run(tmp_path, cli):
    run = tmp_path / "run"
    p = cli("train", "dit_stage1_image", f"out={run}", *TINY)
    assert p.returncode == 0, p.stderr[-3000:]
    lines = p.stdout.splitlines()
    assert f"config: {run / 'config.yaml'}" in lines and (run / "config.yaml").is_file()
    assert not [ln for ln in lines if ln.startswith(("task:", "model:", "optim:", "  lr:"))]  # no YAML
    assert len(lines) <= 4, p.stdout  # config, the head line, (tensorboard's note), trained
    again = cli("train", "dit_stage1_image", f"out={run}", *TINY)  # a finished run, rerun
    assert again.returncode == 0 and "task:" not in again.stdout and f"config: {run / 'config.yaml'}" in again.stdout
    dry = cli("train", "dit_stage1_image", f"out={tmp_path / 'dry'}", *TINY, "--dry-run")
    assert dry.returncode == 0 and "\ntask: dit_t2v\n" in "\n" + dry.stdout and "config:" not in dry.stdout


def manifest(path, rows):
    base = {"source": "a.mp4", "clip_id": "c", "start_frame": 0, "end_frame": 8, "num_frames": 8, "fps": 8.0,
            "width": 32, "height": 32, "start_s": 0.0, "end_s": 1.0, "rotation": 0, "source_frames": 60,
            "keep": True, "error": None, "caption": "x"}
    write_atomic(to_table([{**base, **r} for r in rows], {}), path, {RUN_DIR_KEY: str(path.parent)})
    return path


@pytest.mark.parametrize("case", ["no manifest", "where matches nothing", "no init_from"])
def test_a_run_that_fails_on_its_data_or_model_leaves_no_run_folder(tmp_path, cli, case):
    m = manifest(tmp_path / "m.parquet", [{}])
    args = {"no manifest": ["data.kind=manifest", f"data.path={tmp_path / 'missing.parquet'}"],
            "where matches nothing": ["data.kind=manifest", f"data.path={m}", "data.where=width > 1000"],
            "no init_from": [f"init_from={tmp_path / 'no_stage1'}"]}[case]
    run = tmp_path / "runs" / "stage2"
    p = cli("train", "dit_stage2_video", f"out={run}", "steps=1", "data.height=16", "data.width=16", *args)
    assert p.returncode == 2 and len(p.errors) == 1, p.stderr[-2000:]
    assert not run.exists() and not run.parent.exists()


def test_lora_training_and_rendering_say_a_lora_is_in_use(tmp_path, cli):
    run = tmp_path / "lora"
    p = cli("train", "dit_lora", f"out={run}", *TINY, "lora.rank=4", "lora.alpha=0")
    assert p.returncode == 0, p.stderr[-3000:]
    final = run / "final"
    with safe_open(str(final / "lora.safetensors"), "pt") as f:
        keys = list(f.keys())
        adapters = sum(f.get_tensor(k).numel() for k in keys)
    head = next(ln for ln in p.stdout.splitlines() if ln.startswith("train dit_t2v:"))
    m = re.search(r", LoRA rank 4 alpha 4 \(([\d,]+) of ([\d,]+) parameters trained\)$", head)
    assert m, head  # alpha 0 means the rank
    trained, total = (int(g.replace(",", "")) for g in m.groups())
    assert trained == adapters and total > 10 * trained

    layers = sum(".lora_A." in k for k in keys)
    assert layers == 10  # the tiny DiT's 2 blocks x (qkv, out, q, kv, out)
    r = cli("txt2vid", "--model", "tiny", "--lora", f"{final / 'lora.safetensors'}:0.8",
            "--lora", str(final / "lora_kohya.safetensors"), "--frames", "1", "--height", "16", "--width", "16",
            "--steps", "1", "--output", str(tmp_path / "x.png"))
    assert r.returncode == 0, r.stderr[-3000:]
    notes = [ln for ln in r.stderr.splitlines() if ln.startswith("lora:")]
    assert notes == [f"lora: {final / 'lora.safetensors'} at 0.8 ({layers} layers)",
                     f"lora: {final / 'lora_kohya.safetensors'} at 1 ({layers} layers)"]
    plain = cli("txt2vid", "--model", "tiny", "--frames", "1", "--height", "16", "--width", "16", "--steps", "1",
                "--output", str(tmp_path / "y.png"))
    assert plain.returncode == 0 and "lora:" not in plain.stderr
