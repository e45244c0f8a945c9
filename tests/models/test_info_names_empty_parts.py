"""``video info`` on a diffusers folder one of whose parts is an empty file or a Git LFS pointer
names it as ``video models`` does ("empty file (0 bytes)", "a Git LFS pointer ..."); it said
"truncated or damaged safetensors file (... header too small)" of an empty file."""

from __future__ import annotations

import shutil

import pytest

from video.models.sniff import LFS_NOTE


@pytest.mark.parametrize("content, said", [(b"", "empty file (0 bytes)"),
                                           (b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 9\n",
                                            LFS_NOTE)], ids=["empty", "lfs pointer"])
def test_info_names_a_part_with_no_weights(tmp_path, tiny_diffusers_dir, cli, content, said):
    folder = tmp_path / "svd"
    shutil.copytree(tiny_diffusers_dir, folder)
    part = folder / "vae" / "diffusion_pytorch_model.safetensors"
    part.write_bytes(content)
    p = cli("info", str(folder))
    assert p.returncode == 2 and p.stderr.strip().splitlines()[-1] == f"error: {part}: {said}", p.stderr
    p = cli("info", str(part))  # the file alone said so already
    assert p.stderr.strip().splitlines()[-1] == f"error: {part}: {said}", p.stderr
