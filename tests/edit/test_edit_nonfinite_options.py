"""NaN or inf for an edit's real-valued options (--guidance, --hue, --saturation) is one line
before any model loads: NaN passed every comparison and rendered a black clip, exit 0."""

import pytest

from video.cli import main
from video.media import write_video


@pytest.fixture(scope="module")
def src(clip, tmp_path_factory):
    return write_video(clip[:2, :32, :32], tmp_path_factory.mktemp("nan") / "src.mp4", fps=8)


@pytest.mark.parametrize("argv, flag", [
    (["recolour", "--box", "0,0,16,16", "--hue", "nan"], "--hue"),
    (["recolour", "--box", "0,0,16,16", "--saturation", "inf"], "--saturation"),
    (["inpaint", "--model", "tiny", "--box", "0,0,16,16", "--guidance", "nan"], "--guidance"),
])
def test_a_non_finite_option_is_refused_before_the_render(argv, flag, src, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    code = main(["edit", argv[0], "--video", str(src), *argv[1:], "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert [ln for ln in err.splitlines() if ln.startswith("error:")] == [
        f"error: {flag} must be a finite number; got {argv[-1]}"], err
    assert "random weights" not in err and not out.exists()
