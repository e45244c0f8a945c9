"""What a run says before its steps: the epochs with the digits a short run needs (3 steps
read "0.0 epochs"), a note when a step takes more items than the data has, and warnings during
the steps on lines of their own, not glued onto the progress bar's."""

import contextlib
import io

import torch

from video.training.loading import ItemLoader
from video.training.trainer import epochs_said, repeat_note


def test_epochs_keep_their_digits():
    assert [epochs_said(x) for x in (0.0, 12.0, 0.5, 0.1, 0.046875, 0.01, 0.004)] == [
        "0.0", "12.0", "0.5", "0.1", "0.05", "0.01", "< 0.01"]


def test_a_batch_larger_than_the_data_is_noted(tmp_path, cli):
    assert repeat_note(4, 4) is None and repeat_note(8, 64) is None
    p = cli("train", "dit_stage1_image", f"out={tmp_path / 'r'}", "steps=1", "batch_size=8", "data.size=2",
            "data.frames=1", "data.height=16", "data.width=16", "init_from=")
    assert p.returncode == 0, p.stderr[-2000:]
    assert "1 steps = 4.0 epochs" in p.stdout
    assert ("note: a step takes 8 items (batch_size x processes x grad_accum) but the data has 2: "
            "each item is in every step about 4 times") in p.stdout.splitlines()


class Broken:
    def __len__(self):
        return 3

    def __getitem__(self, i):
        if i == 0:
            raise OSError("truncated file a.png")
        return {"video": torch.zeros(1)}


def test_an_unreadable_item_warning_starts_its_own_line_under_a_bar():
    from tqdm.auto import tqdm

    screen = io.StringIO()  # a terminal: the bar and the printed lines in one stream
    with contextlib.redirect_stdout(screen):
        bar = tqdm(total=3, file=screen, mininterval=0)
        bar.update(1)
        ItemLoader(Broken())(0)
        bar.close()
    before, _, after = screen.getvalue().partition("warning: item 0 is unreadable")
    assert after and before.endswith(("\r", "\n")), repr(screen.getvalue())
