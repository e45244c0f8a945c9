"""What a new user meets first on the ``video`` command line, in this process (the ``cli``
fixture): 0 is a value, not "the model's default"; a mistyped flag answers with its
subcommand's usage and the flag meant; ``--debug`` after the subcommand; the Python API's
device check; YAML that turned text into a number or a list; ``video info``'s names; the help
texts that said less than the code does. Every check here comes before any weights load."""

from __future__ import annotations

import argparse
import json

import pytest

MISSING = "/nonexistent/model"  # a model that cannot load: these errors must come before it is looked for


def one_error(p, needle: str) -> str:
    """The one ``error:`` line of a refused command (exit 2, no traceback) holding ``needle``."""
    lines = [ln for ln in p.stderr.strip().splitlines() if "error:" in ln]
    assert p.returncode == 2 and len(lines) == 1 and needle in lines[0] and "Traceback" not in p.stderr, p.stderr
    return lines[0]


# --- 1. 0 is a value: only unset (None, null) is the model's default ----------------------------

@pytest.mark.parametrize("command,args,needle", [
    ("txt2vid", ["--steps", "0"], "--steps must be >= 1 (leave it unset for the model's default); got 0"),
    ("txt2vid", ["--frames", "0"], "--frames must be >= 1 (leave it unset for the model's default)"),
    ("txt2vid", ["--shift", "0"], "--shift must be a finite number > 0"),
    ("txt2vid", ["height=0"], "--height must be >= 1 (leave it unset"),
    ("img2vid", ["--frames", "0"], "--frames must be >= 1 (leave it unset for the model's default)"),
    ("img2vid", ["steps=0"], "--steps must be >= 1 (leave it unset for the model's default)"),
    ("img2vid", ["--steps", "-1"], "--steps must be >= 1 (leave it unset"),
])
def test_zero_is_refused_not_the_default(tmp_path, cli, command, args, needle):
    """``--steps 0`` ran the model's 8 steps and ``--shift 0`` shift 1.00 without a word."""
    line = one_error(cli(command, "--model", MISSING, "--output", tmp_path / "o.mp4", *args), needle)
    assert "or 0 for" not in line


def test_zero_from_a_config_file_is_refused_and_null_is_unset(tmp_path, cli):
    from video.cli import Img2VidConfig, Txt2VidConfig
    from video.config import load_config

    f = tmp_path / "run.yaml"
    f.write_text("frames: 0\n")
    one_error(cli("img2vid", "--model", MISSING, "--config", f, "--output", tmp_path / "o.mp4"), "--frames must be >= 1")
    f.write_text("frames: null\nsteps: null\nshift: null\n")
    cfg = load_config(Txt2VidConfig, f)
    assert (cfg.frames, cfg.steps, cfg.shift) == (None, None, None)
    f.write_text("frames: null\nsteps: null\n")
    cfg = load_config(Img2VidConfig, f)
    assert (cfg.frames, cfg.steps) == (None, None)


# --- 2. a mistyped flag: the subcommand's usage and what was meant ------------------------------------

@pytest.mark.parametrize("argv,usage,needle", [
    (["img2vid", "--stpes", "2"], "usage: video img2vid", "did you mean --steps?"),
    (["train", "dit_stage1_image", "--steps", "3"], "usage: video train", "key=value words here: steps=3"),
    (["train", "dit_stage1_image", "--optim.lr=0.5", "--dryrun"], "usage: video train", "optim.lr=0.5; did you "
                                                                                         "mean --dry-run?"),
    (["cache-latents", "dit_stage1_image", "--out", "c", "--steps", "2"], "usage: video cache-latents", "steps=2"),
    (["edit", "inpaint", "--stregth", "1"], "usage: video edit inpaint", "did you mean --strength?"),
])
def test_unknown_option_names_the_subcommand_and_the_option_meant(cli, argv, usage, needle):
    p = cli(*argv)
    line = one_error(p, needle)
    assert p.stderr.startswith(usage) and "{img2vid," not in p.stderr  # not the top level's usage
    assert line.startswith(usage.removeprefix("usage: ") + ": error: unrecognized arguments")


def test_debug_after_the_subcommand(tmp_path, cli):
    """``video img2vid --debug`` was "unrecognized arguments"; now it shows the traceback as
    ``video --debug img2vid`` does, and an unset subcommand --debug leaves the top level's."""
    from video.cli import build_parser, parse_args
    from video.models.svd import CheckpointError

    with pytest.raises(CheckpointError):
        cli("img2vid", "--debug", "--model", MISSING, "--output", tmp_path / "o.mp4")
    parser = build_parser()
    assert parse_args(parser, ["--debug", "txt2vid"]).debug is True
    assert parse_args(parser, ["txt2vid", "steps=2", "--debug"]).debug is True
    assert parse_args(parser, ["edit", "inpaint", "--debug"]).debug is True
    assert parse_args(parser, ["txt2vid"]).debug is False


# --- 3. the Python API checks its device as the CLI does ----------------------------------------------

@pytest.mark.parametrize("device,needle", [("cuda:99", r"device='cuda:99': (this machine has no CUDA device|only \d)"),
                                           ("nope", "unknown device 'nope'")])
def test_pipelines_refuse_a_missing_device_in_one_line(tiny_models, device, needle):
    """``from_pretrained("tiny", device="cuda")`` without CUDA raised torch's RuntimeError while
    drawing the weights; now the CLI's check, as an InputError, before anything loads."""
    from video.runtime.img2vid import ImageToVideo, InputError
    from video.runtime.txt2vid import TextToVideo

    for make in (lambda: ImageToVideo.from_pretrained("tiny", device=device),
                 lambda: TextToVideo.from_pretrained("tiny", device=device),
                 lambda: ImageToVideo(tiny_models, device=device)):
        with pytest.raises(InputError, match=needle):
            make()


def test_cli_device_error_is_the_same_check(tmp_path, cli):
    one_error(cli("txt2vid", "--model", "tiny", "--device", "cuda:99", "--output", tmp_path / "o.mp4"),
              "--device cuda:99: ")


# --- 4. YAML that read text as a number or a list ----------------------------------------------------

@pytest.mark.parametrize("text,needle", [
    ("prompt: [cat:dog:0.5]\n", 'reads [cat:dog:0.5] as a list; quote it in YAML: prompt: "[cat:dog:0.5]"'),
    ("negative: 16:9\n", 'reads 16:9 as the number 969; quote it in YAML: negative: "16:9"'),
    ("sampler: yes\n", 'quote it in YAML: sampler: "yes"'),
])
def test_yaml_text_read_as_something_else_says_how_to_quote_it(tmp_path, cli, text, needle):
    f = tmp_path / "run.yaml"
    f.write_text(text)
    one_error(cli("txt2vid", "--model", MISSING, "--config", f, "--output", tmp_path / "o.mp4"), needle)


def test_yaml_aspect_of_outpaint_says_how_to_quote_it(tmp_path, cli):
    f = tmp_path / "edit.yaml"
    f.write_text("aspect: 16:9\n")
    one_error(cli("edit", "outpaint", "--config", f, "--video", tmp_path / "v.mp4", "--output", tmp_path / "o.mp4"),
              'quote it in YAML: aspect: "16:9"')


def test_yaml_text_that_reads_back_the_same_is_kept(tmp_path):
    from video.cli import Txt2VidConfig
    from video.config import load_config

    f = tmp_path / "run.yaml"
    f.write_text('prompt: 42\nnegative: "16:9"\n')
    cfg = load_config(Txt2VidConfig, f)
    assert (cfg.prompt, cfg.negative) == ("42", "16:9")


# --- 5. video info's names, the built-in names, help texts -------------------------------------------

def test_info_help_and_tiny_svd(cli):
    p = cli("info", "--help")
    assert p.returncode == 0 and "without loading its weights" in p.stdout
    tiny, alias = (cli("info", name, "--json") for name in ("tiny", "tiny-svd"))
    assert alias.returncode == 0, alias.stderr
    assert json.loads(alias.stdout)["parameters"] == json.loads(tiny.stdout)["parameters"]
    line = one_error(cli("info", "nope"), "not found")
    assert "tiny-svd" in line and "t2v_tiny" in line


def test_model_not_found_offers_only_the_tiny_names(tmp_path, cli):
    """``svd`` / ``svd_xt`` build full-size random networks (minutes on a CPU): they still work
    but are not offered where a user looks for a model to try."""
    line = one_error(cli("img2vid", "--model", "nope", "--output", tmp_path / "o.mp4"), "not found")
    assert "tiny" in line and "svd_xt" not in line and ", svd" not in line
    # still a built-in name: the device check after the name lookup is what refuses it here
    one_error(cli("img2vid", "--model", "svd", "--device", "cuda:99", "--output", tmp_path / "o.mp4"), "cuda:99")


def test_random_weights_note_says_full_size(tiny_models):
    from video.models.svd import random_weights_note

    assert "full-size" in random_weights_note("svd_xt", tiny_models)
    assert "smoke run" in random_weights_note("tiny", tiny_models)


def _options(*path: str) -> dict[str, str]:
    from video.cli import build_parser

    parser = build_parser()
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return {o: a.help % {"default": a.default} if a.help else "" for a in parser._actions for o in a.option_strings}


def test_help_says_what_the_code_does():
    img = _options("img2vid")
    assert "0 = automatic" in img["--decode-chunk"]
    assert all("multiple of the model's size step (64 for SVD" in img[f] for f in ("--height", "--width"))
    assert "(default: none" in img["--compile"] and "(default: none" in img["--model-config"]
    assert "(default: none" in _options("txt2vid")["--compile"]
    assert "default 1.0" in _options("quickstart")["--scale"]


def test_cache_latents_setting_that_does_not_fit_is_one_line(tmp_path, cli):
    """As ``video train``: a ValueError of the build (here buckets, which a one-shape cache cannot
    hold) is an ``error:`` line, not a traceback."""
    one_error(cli("cache-latents", "dit_stage1_image", "data.buckets=[[32,32]]", "--out", tmp_path / "c"),
              "the latent cache holds one shape")
