"""What ``video quickstart`` checks before any stage runs, and what it says when it stops or
ends: a ``--scale`` that is not a finite number > 0 (0 turned a finished run into one-step
stages, inf and NaN crashed), a mistake in a later stage's config (it showed only after the
stages before it trained), Ctrl-C during the VAE fit (its line glued to the progress bar, then
a bare "interrupted"), the closing lines and the loss curve's labels."""

import json
from pathlib import Path

import pytest
from PIL import Image

from video.training.quickstart import check_scale, plot_losses

DIT = ["batch_size=1", "log_every=1", "data.kind=shapes", "data.height=16", "data.width=16", "data.size=8"]


def config(tmp_path: Path, vae_steps: int = 2, stages: int = 2) -> Path:
    """A quickstart YAML on the tiny model: a 16-pixel VAE of ``vae_steps`` and ``stages`` DiT stages."""
    all_stages = [{"config": "dit_stage1_image", "overrides": ["steps=2", *DIT]},
                  {"config": "dit_stage2_video", "overrides": ["steps=1", *DIT, "data.frames=3"]}]
    path = tmp_path / "qs.yaml"
    path.write_text(json.dumps({
        "vae": {"steps": vae_steps, "down_blocks": 2, "data": "shapes", "sizes": [16], "batch_size": 2,
                "holdout": 4},
        "stages": all_stages[:stages]}))
    return path


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "-inf"])
def test_scale_not_a_finite_positive_number_is_refused_before_anything_runs(cli, tmp_path, value):
    out = tmp_path / "qs"
    out.mkdir()
    (out / "kept.txt").write_text("a finished run's file")
    p = cli("quickstart", "--config", config(tmp_path), "--out", out, f"--scale={value}")
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert len(p.errors) == 1 and p.errors[0].startswith("error: --scale must be a finite number > 0"), p.stderr
    assert p.stdout == "" and [f.name for f in out.iterdir()] == ["kept.txt"]


@pytest.mark.parametrize("scale", [0, -0.5, float("inf"), float("nan"), True])
def test_the_python_api_refuses_the_same_scales(scale):
    with pytest.raises(ValueError, match="scale must be a finite number > 0"):
        check_scale(scale)
    assert check_scale(0.25) == 0.25


@pytest.mark.parametrize("word,needle", [
    ("stages.1.config=dit_stage3_hqq", "error: stages.1.config=dit_stage3_hqq: no training config "),
    ("stages.1.overrides=[steps=abc]", "error: stage dit_stage2_video (stages.1): config key 'steps'"),
    ("stages.1.overrides=[optim.lr=-1]", "error: stage dit_stage2_video (stages.1): config key 'optim.lr'"),
])
def test_a_later_stage_mistake_is_said_before_stage_0(cli, tmp_path, word, needle):
    out = tmp_path / "qs"
    p = cli("quickstart", "--config", config(tmp_path), "--out", out, word)
    assert p.returncode == 2 and len(p.errors) == 1 and p.errors[0].startswith(needle), p.stderr
    assert "== stage" not in p.stdout and not out.exists()  # no VAE fitted, no stage trained


def test_ctrl_c_in_the_vae_fit_is_one_line_after_the_bar(cli, tmp_path, monkeypatch):
    """A KeyboardInterrupt raised inside the real fit's third step (where Ctrl-C lands: the bar is
    drawn and open): the bar's line ends first, the line saying the fit is redone is a line of its
    own, last, with no bare "interrupted" under it and the bar not drawn again; exit 130."""
    import video.training.vae_fit as vae_fit

    real, calls = vae_fit.vae_loss, []

    def ctrl_c_at_the_third_step(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(vae_fit, "vae_loss", ctrl_c_at_the_third_step)
    p = cli("quickstart", "--config", config(tmp_path, vae_steps=50, stages=1), "--out", tmp_path / "qs")
    assert p.returncode == 130, p.stderr
    lines = [ln for ln in p.stderr.split("\n") if ln.strip()]
    said = "video quickstart: stopped during the VAE fit (stage 0 saves no checkpoint): " \
           "rerun the same command to fit it again"
    assert "vae:" in p.stderr  # the bar was drawn
    assert lines[-1] == said, p.stderr  # its own line, the last: nothing glued before it or drawn after
    assert "interrupted" not in lines and p.stderr.count("stopped during the VAE fit") == 1


def test_the_last_lines_name_the_picture_and_the_summary(cli, tmp_path):
    out = tmp_path / "qs"
    p = cli("quickstart", "--config", config(tmp_path, vae_steps=0, stages=1), "--out", out)
    assert p.returncode == 0, p.stderr
    tail = "\n".join(p.stdout.strip().splitlines()[-2:])
    assert str(out / "samples.png") in tail and str(out / "quickstart.json") in tail, p.stdout
    assert (out / "samples.png").is_file() and (out / "quickstart.json").is_file()


def test_a_short_last_stage_keeps_its_label_in_the_loss_picture(tmp_path):
    """The last stage's name was drawn from where its curve starts: a short stage at the right
    edge had it cut off. Its ink (the stage's colour, below the plot) is as wide as the text."""
    from PIL import ImageDraw

    curves = {"dit_stage1_image": [1.0] * 40, "dit_stage2_video": [0.8] * 20, "dit_stage3_hq": [0.5, 0.4]}
    img = Image.open(plot_losses(curves, tmp_path / "loss.png")).convert("RGB")
    green = (0x2C, 0xA0, 0x2C)  # the third stage's colour
    xs = [x for x in range(img.width) for y in range(img.height - 46, img.height)
          if sum(abs(a - b) for a, b in zip(img.getpixel((x, y)), green, strict=True)) < 60]
    width = ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength("dit_stage3_hq")
    assert xs and max(xs) < img.width - 1 and max(xs) - min(xs) >= width - 3, (min(xs, default=None), width)
