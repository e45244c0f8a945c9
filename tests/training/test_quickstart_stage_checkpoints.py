"""Each quickstart DiT stage saves about ten checkpoints, the newest two kept: one at the end
alone (``ckpt_every = steps``) lost the whole stage to a kill -9, where the README promises an
interrupted stage goes on from its checkpoint."""

import json

from video.training.quickstart import run_quickstart, stage_checkpoints


def test_checkpoints_about_every_tenth_of_a_stage():
    assert stage_checkpoints(2000) == (200, 2)
    assert stage_checkpoints(15) == (2, 2)  # rounded up: at most ten of them
    assert stage_checkpoints(4) == (1, 2) and stage_checkpoints(1) == (1, 2)


def test_a_stage_keeps_its_newest_checkpoints(tmp_path, capsys):
    path = tmp_path / "qs.yaml"
    path.write_text(json.dumps({  # JSON is YAML: stage 1 alone, no VAE fit
        "out": str(tmp_path / "qs"), "vae": {"steps": 0},
        "stages": [{"config": "dit_stage1_image",
                    "overrides": ["steps=4", "batch_size=1", "data.kind=shapes", "data.height=16", "data.width=16",
                                  "data.size=2"]}]}))
    run_quickstart(path)
    ckpts = tmp_path / "qs" / "dit_stage1_image" / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["step_0000003", "step_0000004"]  # a kill at step 4 keeps 3
