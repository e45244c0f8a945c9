"""A prompts file is read as UTF-8: a byte-order mark (Notepad) is not part of the first prompt
(metrics showed '\\ufeffa cat'), and a file in another encoding is one line naming it rather
than a UnicodeDecodeError traceback."""

from __future__ import annotations

import pytest

from eval.inputs import EvalError, read_prompts


def test_utf8_bom_is_not_in_the_first_prompt(tmp_path):
    p = tmp_path / "p.txt"
    p.write_bytes("a cat\nsecond\n".encode("utf-8-sig"))
    assert read_prompts(p, ["c1", "c2"]) == {"c1": "a cat", "c2": "second"}
    j = tmp_path / "p.json"
    j.write_bytes('{"c1": "a cat"}'.encode("utf-8-sig"))
    assert read_prompts(j, ["c1"]) == {"c1": "a cat"}


@pytest.mark.parametrize("data, extra", [("café au lait\nsecond\n".encode("latin-1"), ""),
                                          ("a cat\nsecond\n".encode("utf-16"), "it looks like UTF-16")])
def test_prompts_not_utf8_is_one_error_naming_the_file(tmp_path, data, extra):
    p = tmp_path / "p.txt"
    p.write_bytes(data)
    with pytest.raises(EvalError, match="not UTF-8 text") as e:
        read_prompts(p, ["c1", "c2"])
    assert str(e.value).startswith(f"prompts file {p}: not UTF-8 text (") and extra in str(e.value)


def test_video_eval_prompts_not_utf8_is_one_line(cli, tmp_path):
    import numpy as np

    from video.media import write_video

    write_video(np.zeros((2, 16, 16, 3), np.uint8), tmp_path / "g" / "c1.mp4", fps=8)
    p = tmp_path / "p.txt"
    p.write_bytes("café\n".encode("latin-1"))
    r = cli("eval", tmp_path / "g", "--prompts", p, "--out", tmp_path / "o")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.errors == [f"error: prompts file {p}: not UTF-8 text (save it as UTF-8)"]
