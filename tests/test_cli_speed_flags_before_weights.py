"""The speed flags of ``video img2vid`` / ``txt2vid`` are read before the weights load: a bad
``--compile`` mode, ``--offload`` value or ``--compile-cache`` path is refused in one line (it
used to wait minutes for the weights, or here name the missing model instead); a
``--compile-cache`` without ``--compile`` says it does nothing; the fast mode reports its skip
count even when it skipped nothing; YAML's ``split_guidance: on`` (a boolean to YAML) is on.

Each run names a model that does not exist: a check that waited for the weights would say
"not found" instead. The warnings of flags that load and run (split guidance the step cache
does not use, compiling on a CPU) run the tiny model."""

from __future__ import annotations

import re

import pytest
import torch

MISSING = "/nonexistent/model"


@pytest.mark.parametrize("command", ["img2vid", "txt2vid"])
@pytest.mark.parametrize("flags, message", [
    (["--compile", "reduce-overhead"], "captures CUDA graphs and needs a CUDA device"),
    (["--compile", "fastest"], "unknown compile mode 'fastest'"),
    (["--compile", "default", "--compile-cache", "{file}"], "cannot use it as a folder"),
])
def test_compile_refusals_come_before_the_model(cli, tmp_path, command, flags, message):
    (tmp_path / "file").write_text("x")
    flags = [f.format(file=tmp_path / "file") for f in flags]
    r = cli(command, "--model", MISSING, "--device", "cpu", "--output", tmp_path / "o.mp4", *flags)
    assert r.returncode == 2 and len(r.errors) == 1 and message in r.errors[0], r.stderr


@pytest.mark.parametrize("flags, message", [
    (["--offload", "cpu"], "unknown offload mode 'cpu'; choose one of none, model"),
    (["offload=model", "--compile", "reduce-overhead"], "records CUDA graphs, whose weights must stay in place"),
])
def test_offload_refusals_come_before_the_model(cli, tmp_path, flags, message):
    r = cli("img2vid", "--model", MISSING, "--output", tmp_path / "o.mp4", *flags)
    assert r.returncode == 2 and len(r.errors) == 1 and message in r.errors[0], r.stderr


@pytest.mark.parametrize("command", ["img2vid", "txt2vid"])
def test_compile_cache_without_compile_says_it_does_nothing(cli, tmp_path, command):
    r = cli(command, "--model", MISSING, "--output", tmp_path / "o.mp4", "--compile-cache", tmp_path / "cc")
    assert f"warning: --compile-cache {tmp_path / 'cc'} does nothing without --compile" in r.stderr
    assert "not found" in r.errors[0]  # a warning, not a refusal


def test_a_bad_threshold_flag_is_named_as_the_flag(cli, tmp_path):
    r = cli("img2vid", "--model", MISSING, "--output", tmp_path / "o.mp4", "--cache-threshold", "-1")
    assert r.errors == ["error: --cache-threshold: cache_threshold must be a finite number >= 0 (0 = off, exact), "
                        "got -1.0"]


@pytest.mark.parametrize("text, value", [("on", True), ("off", False), ('"on"', True), ("auto", None)])
def test_yaml_on_and_off_set_split_guidance(cli, tmp_path, text, value):
    """Unquoted, YAML reads on / off as True / False, and the text key refused them."""
    from video.config import load_config
    from video.flags import tristate
    from video.runtime.config import Img2VidConfig

    yaml = tmp_path / "run.yaml"
    yaml.write_text(f"split_guidance: {text}\n")
    assert tristate("--split-guidance", load_config(Img2VidConfig, yaml).split_guidance) is value
    r = cli("img2vid", "--config", yaml, "--model", MISSING, "--output", tmp_path / "o.mp4")
    assert len(r.errors) == 1 and "not found" in r.errors[0], r.stderr  # past the config, to the model


def test_split_guidance_still_refuses_other_words(cli, tmp_path):
    r = cli("img2vid", "--model", MISSING, "--split-guidance", "maybe", "--output", tmp_path / "o.mp4")
    assert r.errors == ["error: --split-guidance takes auto, on or off; got 'maybe'"]


def test_the_fast_mode_reports_its_skips_when_it_skipped_none(tiny_models):
    """README: "the last line reports how many evaluations were skipped"; with 0 it said nothing."""
    from video.runtime.img2vid import ImageToVideo

    pipe = ImageToVideo(tiny_models)
    pipe(torch.rand(3, 64, 64), num_frames=2, num_inference_steps=2, height=64, width=64, cache_threshold=1e-12)
    assert pipe.last_timings.skipped == 0
    # the denoise's report, after it: it sat after the decode, as if the decode had skipped
    assert "s (step cache skipped 0/2 UNet evaluations), decode " in str(pipe.last_timings)
    assert str(pipe.last_timings).index(", denoise ") < str(pipe.last_timings).index("(step cache")
    pipe(torch.rand(3, 64, 64), num_frames=2, num_inference_steps=2, height=64, width=64, output_type="latent")
    assert "step cache" not in str(pipe.last_timings)  # exact mode: nothing to report


def test_sdpa_help_does_not_promise_torchs_choice():
    """torch 2.11 on an H100 picked cuDNN for the DiT, not FlashAttention as the help said."""
    from video.runtime.config import IMG2VID_FLAGS, TXT2VID_FLAGS

    for flags in (IMG2VID_FLAGS, TXT2VID_FLAGS):
        help_ = flags["--sdpa"][1]
        assert "FlashAttention first" not in help_ and "depends on the torch version and GPU" in help_


SPLIT_UNUSED = "warning: split guidance is not used with the step cache (cache_threshold 5)"


@pytest.mark.parametrize("flags, warned", [
    (["--split-guidance", "on", "--cache-threshold", "5"], True),
    (["--cache-threshold", "5"], False),  # auto: no split was asked for
    (["--split-guidance", "on"], False),  # the exact path splits as asked
])
def test_split_guidance_on_with_the_step_cache_says_it_is_not_used(cli, tmp_path, flags, warned):
    """``--split-guidance on --cache-threshold 5`` ran the batch of two without a word (First
    Block Cache keeps one residual for both halves): the frames were the threshold's alone. The
    summary line gives the skip count after the denoise it belongs to, not after the decode."""
    r = cli("img2vid", "--model", "tiny", "--device", "cpu", "--frames", "2", "--steps", "2", "--height", "64",
            "--width", "64", "--output", tmp_path / "o.mp4", *flags)
    assert r.returncode == 0, r.stderr
    said = [ln for ln in r.stderr.splitlines() if ln.startswith(SPLIT_UNUSED)]
    assert len(said) == warned, r.stderr
    last = r.stdout.splitlines()[-1]
    if "--cache-threshold" in flags:
        assert re.search(r", denoise [0-9.]+s \(step cache skipped \d/2 UNet evaluations\), decode ", last), last
    else:
        assert "step cache" not in last


@pytest.mark.parametrize("command", ["img2vid", "txt2vid"])
def test_compile_on_a_cpu_says_it_takes_minutes(cli, tmp_path, command):
    """``--compile default`` on a CPU turned a 1.5 s tiny render into 5.5 minutes without a word.
    The warning comes from ``compile()``, before the first video compiles; the run stops at the
    output check that follows (the model's 8 or 9 frames cannot go to one .png), before the
    render, so this test does not pay those minutes."""
    r = cli(command, "--model", "tiny", "--device", "cpu", "--compile", "default", "--output", tmp_path / "o.png")
    assert r.returncode == 2 and "to the image o.png" in r.errors[0], r.stderr
    said = [ln for ln in r.stderr.splitlines() if "compiling on the CPU takes minutes" in ln]
    assert len(said) == 1 and "pays off only over many videos" in said[0], r.stderr
    assert r.stderr.index("compiling on the CPU") < r.stderr.index("error:")
