"""A flag this command does not take but another ``video`` command does is named as that
command's ("--shift is a txt2vid option"), not matched to a look-alike of this command
(``img2vid --shift 1`` said "did you mean --height?"); a typo of this command's own flag keeps
its "did you mean"."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("argv, said", [
    (["img2vid", "--shift", "1"], "(--shift is an option of txt2vid and edit TASK)"),
    (["txt2vid", "--motion-bucket", "3"], "(--motion-bucket is an img2vid option)"),
    (["animate", "--lora", "a.safetensors"], "(--lora is an option of img2vid and txt2vid)"),
    (["img2vid", "--stpes", "2"], "(did you mean --steps?)"),
    # a near typo of this command's own flag beats another command's flag of that name (eval --prompts)
    (["txt2vid", "--prompts", "p.txt"], "(did you mean --prompt?)"),
    # an old name of another command's flag (animate's --negative-prompt) is not that command's option
    (["txt2vid", "--negative-prompt", "blurry"], "(did you mean --negative?)"),
], ids=["shift_in_img2vid", "motion_bucket_in_txt2vid", "lora_in_animate", "typo", "near_typo", "old_name"])
def test_unknown_flag_names_the_command_that_takes_it(cli, argv, said):
    p = cli(*argv)
    (line,) = [x for x in p.stderr.splitlines() if "error:" in x]
    assert p.returncode == 2 and line.endswith(said), p.stderr


def test_other_commands_are_named_from_the_whole_parser():
    from video.cli import build_parser
    from video.flags import commands_taking

    root = build_parser()
    assert commands_taking(root, "--shift", skip=None) == ["txt2vid", "edit TASK"]
    assert commands_taking(root, "--no-such-flag", skip=None) == []
