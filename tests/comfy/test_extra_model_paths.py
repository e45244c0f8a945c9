"""ComfyUI's ``--extra-model-paths-config FILE`` on the commands that take ``--models-dir``:
weights that live in another install are found by name, in addition to the models folder's
own extra_model_paths.yaml (``video.cli.main`` in process, through the ``cli`` fixture)."""

from __future__ import annotations

import json

from video.media import probe_video


def test_extra_model_paths_config_finds_models_elsewhere(tmp_path, tiny_diffusers_dir, cli):
    other = tmp_path / "other_install"  # e.g. another ComfyUI's models, kept where they are
    (other / "ckpts").mkdir(parents=True)
    (other / "ckpts" / "small-svd").symlink_to(tiny_diffusers_dir, target_is_directory=True)
    config = tmp_path / "more_paths.yaml"
    config.write_text(f"elsewhere:\n    base_path: {other}\n    checkpoints: ckpts\n")
    models = tmp_path / "models"
    (models / "loras").mkdir(parents=True)
    out = tmp_path / "clip.mp4"
    args = ["img2vid", "--models-dir", str(models), "--model", "small-svd", "--frames", "2", "--steps", "1",
            "--height", "64", "--width", "64", "--output", str(out)]

    without = cli(*args)
    assert without.returncode == 2 and "model 'small-svd' not found" in without.stderr
    p = cli(*args, "--extra-model-paths-config", str(config))
    assert p.returncode == 0, p.stderr
    assert probe_video(out)["num_frames"] == 2

    listed = cli("models", "--models-dir", str(models), "--extra-model-paths-config", str(config), "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["folder"], r["name"], r["kind"]) for r in rows] == [("checkpoints", "small-svd", "svd")]

    missing = cli(*args, "--extra-model-paths-config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml: cannot read it" in missing.stderr
