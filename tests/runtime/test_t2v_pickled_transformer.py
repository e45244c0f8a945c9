"""Our text-to-video layout with a pickled ``transformer/model.bin`` in place of
``transformer/model.safetensors``: ``video txt2vid`` names the pickle and says it is not loaded
(convert it), as a diffusers part without .safetensors weights does; it said only
"transformer/model.safetensors is missing". The pickle would create a marker file if it were
ever unpickled."""

from __future__ import annotations

import pickle
from pathlib import Path


class _Marker:
    """Unpickled, it creates ``path`` (open(path, "w")): the file's absence shows nothing ran it."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def test_a_pickled_transformer_bin_is_named_not_just_missing(cli, tmp_path):
    from video.runtime.txt2vid import build_tiny, save_t2v

    folder, marker = save_t2v(build_tiny(), tmp_path / "t2v_bin"), tmp_path / "MARKER"
    (folder / "transformer" / "model.safetensors").unlink()
    (folder / "transformer" / "model.bin").write_bytes(pickle.dumps(_Marker(marker), protocol=2))
    p = cli("txt2vid", "--model", folder, "--prompt", "a cat", "--output", tmp_path / "out.mp4")
    assert p.returncode == 2 and p.errors == [
        f"error: {folder}: transformer/model.safetensors is missing; transformer/model.bin is there, pickled: not "
        "loaded; convert it to .safetensors"], p.stderr
    assert not marker.exists() and not (tmp_path / "out.mp4").exists()
