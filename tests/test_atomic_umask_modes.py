"""Files safetensors writes into an atomic folder get the umask's modes, not its private 0600."""

import os
import stat

import torch
from safetensors.torch import save_file

from video.atomic import atomic_folder


def test_safetensors_in_an_atomic_folder_is_readable_by_others(tmp_path):
    old = os.umask(0o022)
    try:
        import video.atomic as atomic

        mask = atomic._UMASK
        with atomic_folder(tmp_path / "run") as tmp:
            save_file({"w": torch.zeros(2)}, str(tmp / "model.safetensors"))
            (tmp / "private.key").write_text("x")
            os.chmod(tmp / "private.key", 0o600)
            (tmp / "script.sh").write_text("#!/bin/sh\n")
            os.chmod(tmp / "script.sh", 0o700)
            (tmp / "shared.txt").write_text("y")
            os.chmod(tmp / "shared.txt", 0o640)  # not private: left as it is
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "run").iterdir() if not p.name.startswith(".")}
    assert modes["model.safetensors"] == 0o666 & ~mask
    assert modes["private.key"] == 0o666 & ~mask
    assert modes["script.sh"] == 0o777 & ~mask
    assert modes["shared.txt"] == 0o640
