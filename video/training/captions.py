"""Captions as the text encoder reads them in training. sd-scripts trains a caption as it is
written unless ``--weighted_captions``; our prompt encoder reads the prompt language
(:mod:`video.prompts.emphasis`), which turned a booru caption ``yor_(spy_x_family), hat [red]``
into emphasis x1.1 and x0.909 with its brackets dropped. ``data.weighted_captions=false`` (the
default) escapes the language's special characters first, so the caption is encoded as one
run of weight 1 with every character it has; ``true`` reads it as a prompt.
"""

from __future__ import annotations

import re

# video.prompts.emphasis: a backslash makes ( ) [ ] \ literal; with no "(" left open a ":" is
# literal too; the word BREAK cannot be escaped, but a dropped backslash inside it ("B\REAK":
# any other backslash is dropped) splits it into two runs that merge back into the text "BREAK"
_SPECIAL = re.compile(r"([\\()\[\]])")
_BREAK = re.compile(r"\bBREAK\b")


def escape_prompt(text: str) -> str:
    """``text`` written in the prompt language so that it reads as itself: its emphasis pass
    (:func:`video.prompts.emphasis.parse_segments`) gives ``text`` as one segment of weight 1."""
    return _BREAK.sub(r"B\\REAK", _SPECIAL.sub(r"\\\1", text))


class CaptionEncoder:
    """A :class:`video.prompts.PromptEncoder` whose ``encode_text`` takes captions literally
    (:func:`escape_prompt`) unless ``weighted``; everything else is the encoder's. The latent
    cache encodes through the task's encoder too, so a cached caption reads as a trained one."""

    def __init__(self, prompts, weighted: bool):
        self.prompts, self.weighted = prompts, weighted

    def encode_text(self, text: str):
        return self.prompts.encode_text(text if self.weighted else escape_prompt(text))

    def __getattr__(self, name: str):
        return getattr(self.prompts, name)
