"""A run begun before ``data.weighted_captions`` read its captions in the prompt language
(``(word)`` and ``[word]`` as weights); resumed, it goes on so, with a note, instead of switching
silently to the literal captions a new run reads. An SVD run trains on no caption: no note."""

from __future__ import annotations

from video.config import load_config, to_dict
from video.training.config import TrainConfig
from video.training.resume import resume_changes


def _cfg(name, *extra):
    return load_config(TrainConfig, f"configs/train/{name}.yaml", ["steps=10", *extra])


def test_an_old_captioned_run_goes_on_reading_weights(capsys):
    cfg = _cfg("dit_stage1_image")
    before = to_dict(cfg)
    del before["data"]["weighted_captions"]
    assert cfg.data.weighted_captions is False
    now = resume_changes(before, cfg, 4, rank=0)
    assert now.data.weighted_captions is True
    assert "note: this run began before data.weighted_captions: it goes on from step 4" in capsys.readouterr().out


def test_a_run_that_records_the_key_or_trains_no_caption_keeps_it(capsys):
    cfg = _cfg("dit_stage1_image")
    assert resume_changes(to_dict(cfg), cfg, 4, rank=0).data.weighted_captions is False
    svd = _cfg("stage2_video", "init_from=")
    before = to_dict(svd)
    del before["data"]["weighted_captions"]
    assert resume_changes(before, svd, 4, rank=0).data.weighted_captions is False
    assert "began before" not in capsys.readouterr().out
