"""``video upscale`` without ``--refine``: every refine option (``--strength``, ``--prompt``,
``--steps``, ``--seed``, ``--device``, ``--dtype``, ``--sdpa``: README's list) is refused when it is
*given*, as a flag, ``key=value`` or a ``--config`` key, at any value. Comparing values with the
defaults let ``--strength 0.3``, ``--seed 0``, ``--device auto`` and ``--sdpa torch`` pass,
silently ignored. ``null`` is "unset", not given; with ``--refine`` they are all taken."""

from __future__ import annotations

import pytest

from video.media import write_video

DEFAULTS = [("--strength", "0.3"), ("--seed", "0"), ("--device", "auto"), ("--dtype", "auto"), ("--sdpa", "torch"),
            ("--prompt", ""), ("--steps", "2")]


@pytest.fixture(scope="module")
def src(clip, tmp_path_factory):
    return write_video(clip[:2, :16, :24], tmp_path_factory.mktemp("up") / "clip.mp4", fps=8)


@pytest.mark.parametrize(("flag", "value"), DEFAULTS)
def test_a_refine_flag_at_its_default_is_refused(flag, value, src, tmp_path, cli):
    out = tmp_path / "y.mp4"
    p = cli("upscale", src, "--model", "bicubic", flag, value, "--output", out)
    assert p.returncode == 2 and p.errors == [f"error: {flag} sets the refine pass, and none runs: give --refine "
                                              "MODEL, or leave it out"], p.stderr
    assert not out.exists()


def test_key_value_and_config_keys_are_refused_too(src, tmp_path, cli):
    out = tmp_path / "y.mp4"
    p = cli("upscale", src, "--model", "bicubic", "seed=0", "--output", out)
    assert p.returncode == 2 and p.errors[0].startswith("error: seed=0 sets the refine pass"), p.stderr
    cfg = tmp_path / "run.yaml"
    cfg.write_text("scale: 2\nstrength: 0.3\n")
    p = cli("upscale", src, "--model", "bicubic", "--config", cfg, "--output", out)
    assert p.returncode == 2 and p.errors[0].startswith(f"error: strength in {cfg} sets the refine pass"), p.stderr
    assert not out.exists()


def test_null_is_unset_and_other_options_pass(src, tmp_path, cli):
    cfg = tmp_path / "run.yaml"
    cfg.write_text("scale: 2\nsteps: null\n")
    out = tmp_path / "y.mp4"
    p = cli("upscale", src, "--model", "bicubic", "--config", cfg, "steps=null", "--tile", "8", "--crf", "18",
            "--output", out)
    assert p.returncode == 0, p.stderr
    assert out.is_file()


def test_refine_takes_them(tmp_path):
    """With --refine (a flag or a YAML key) the same options are the refine pass's: no error."""
    import argparse

    from video.edit.upscale_cli import (
        UPSCALE_FLAGS,
        UpscaleConfig,
        add_upscale_command,
        check_refine_keys,
    )
    from video.flags import given_keys, resolve_flags

    parser = argparse.ArgumentParser()
    add_upscale_command(parser.add_subparsers())
    cfg_file = tmp_path / "r.yaml"
    cfg_file.write_text("refine: tiny\nseed: 0\n")
    for argv in (["--refine", "tiny", "--seed", "0", "--sdpa", "torch"], ["strength=0.3", "--config", str(cfg_file)]):
        args = parser.parse_args(["upscale", "in.mp4", *argv])
        cfg = resolve_flags(UpscaleConfig, args, UPSCALE_FLAGS)
        given = given_keys(args, UPSCALE_FLAGS)
        assert {"refine"} < set(given)
        check_refine_keys(cfg, given)
