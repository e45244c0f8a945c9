"""Files named as weights that hold none: an empty file and a Git LFS pointer are said so by
``video models``, ``video info`` and every ``--model`` / ``--lora`` (they were "pickled" under
``.ckpt`` and a "damaged safetensors file (header too large)" under ``.safetensors``); only bytes
that read as a pickle are called pickled. A model folder with a truncated part is listed with it
(``; damaged: PART/FILE``), from the parts' headers alone."""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
import torch
from model_test_files import save_first_layer_lora, touch

from video.models.detect import damaged_parts, detect_kind, list_models
from video.models.sniff import LFS_NOTE, header_problem, is_pickled, not_weights

LFS = b"version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2146\nsize 9876543210\n"


@pytest.fixture
def odd(tmp_path):
    """checkpoints/ and loras/ holding an empty file, a text file and LFS pointers under weights names."""
    ck = tmp_path / "m" / "checkpoints"
    touch(ck / "empty.ckpt", b"")
    touch(ck / "notes.pt", b"hello world\n")
    touch(ck / "lfs.ckpt", LFS)
    touch(ck / "lfs.safetensors", LFS)
    touch(tmp_path / "m" / "loras" / "lfs_lora.safetensors", LFS)
    return tmp_path / "m"


def test_sniffing_reads_the_bytes_not_the_suffix(tmp_path, odd):
    ck = odd / "checkpoints"
    assert not_weights(ck / "empty.ckpt") == "empty file (0 bytes)"
    assert not_weights(ck / "lfs.ckpt") == not_weights(ck / "lfs.safetensors") == LFS_NOTE
    assert "git lfs pull" in LFS_NOTE
    assert not any(is_pickled(ck / n) for n in ("empty.ckpt", "notes.pt", "lfs.ckpt", "lfs.safetensors"))
    torch.save({"w": torch.ones(2)}, tmp_path / "real.pt")  # torch.save's zip
    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.ckpt", _use_new_zipfile_serialization=False)
    (tmp_path / "p0.pkl").write_bytes(pickle.dumps({"w": [1, 2]}, protocol=0))
    (tmp_path / "p1.pt").write_bytes(pickle.dumps({"w": [1, 2]}, protocol=1))
    for name in ("real.pt", "legacy.ckpt", "p0.pkl", "p1.pt"):
        assert is_pickled(tmp_path / name), name
    shutil.make_archive(str(tmp_path / "other"), "zip", odd)  # a zip that is no torch.save
    (tmp_path / "other.zip").rename(tmp_path / "other.pt")
    assert not is_pickled(tmp_path / "other.pt")


def test_video_models_names_them(cli, odd):
    r = cli("models", "--models-dir", odd)
    assert r.returncode == 0, r.stderr
    lines = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert lines["checkpoints/empty.ckpt"].endswith("empty file (0 bytes)")
    for name in ("checkpoints/lfs.ckpt", "checkpoints/lfs.safetensors", "loras/lfs_lora.safetensors"):
        assert lines[name].endswith(LFS_NOTE), lines[name]
    assert "pickled" not in r.stdout and "damaged" not in r.stdout, r.stdout
    assert lines["checkpoints/notes.pt"].endswith("unrecognised file (.pt)")


@pytest.mark.parametrize("name, why", [("empty.ckpt", "empty file (0 bytes)"), ("lfs.ckpt", LFS_NOTE),
                                       ("lfs.safetensors", LFS_NOTE)])
def test_info_and_the_commands_say_it_in_one_line(cli, odd, name, why):
    path = odd / "checkpoints" / name
    for argv in (("info", path), ("info", name, "--models-dir", odd),
                 ("img2vid", "--model", path, "--image", path), ("txt2vid", "--model", path, "--prompt", "x"),
                 ("txt2vid", "--model", name, "--models-dir", odd, "--prompt", "x")):
        r = cli(*argv)
        assert r.returncode == 2 and len(r.errors) == 1, (argv, r.stderr)
        assert r.errors[0].endswith(f"{name}: {why}"), (argv, r.errors)


def test_a_lora_that_is_an_lfs_pointer_is_said_so(cli, odd):
    r = cli("txt2vid", "--lora", "lfs_lora:0.5", "--models-dir", odd, "--prompt", "x")
    assert r.returncode == 2 and r.errors == [f"error: {odd / 'loras' / 'lfs_lora.safetensors'}: {LFS_NOTE}"], r.stderr


def test_a_text_file_named_ckpt_is_not_called_pickled_by_info(cli, odd):
    r = cli("info", odd / "checkpoints" / "notes.pt", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["layout"] == "single file" and "pickled" not in info["detail"], info


def test_a_folder_with_a_truncated_part_is_listed_damaged(tmp_path, tiny_diffusers_dir):
    models = tmp_path / "m"
    bad = models / "checkpoints" / "svd_bad"
    shutil.copytree(tiny_diffusers_dir, bad)
    shutil.copytree(tiny_diffusers_dir, models / "checkpoints" / "svd_good")
    weights = bad / "unet" / "diffusion_pytorch_model.safetensors"
    full = weights.stat().st_size
    with open(weights, "r+b") as f:
        f.truncate(full - 1000)  # the header whole, the last tensor's data cut short
    assert damaged_parts(models / "checkpoints" / "svd_good") == []
    assert damaged_parts(bad) == [f"unet/diffusion_pytorch_model.safetensors (truncated: {full - 1000:,} bytes of "
                                  f"{full:,})"]
    rows = {r["name"]: r for r in list_models(models)}
    assert rows["svd_bad"]["detail"].endswith("; damaged: " + damaged_parts(bad)[0])
    assert "damaged" not in rows["svd_good"]["detail"]
    assert detect_kind(bad)["kind"] == "svd"  # what it is still said


def test_the_part_check_reads_headers_only(tmp_path):
    """A 4 GiB part (sparse: no data on disk) whose header is whole and whose size covers its last
    tensor is checked from its first bytes: a read of the data would take seconds and fail."""
    header = json.dumps({"w": {"dtype": "F32", "shape": [1 << 30], "data_offsets": [0, 1 << 32]}}).encode()
    part = tmp_path / "model" / "transformer"
    touch(part / "config.json", b"{}")
    f = part / "diffusion_pytorch_model.safetensors"
    with open(f, "wb") as out:
        out.write(len(header).to_bytes(8, "little") + header)
        out.truncate(8 + len(header) + (1 << 32))
    assert header_problem(f) is None
    with open(f, "r+b") as out:
        out.truncate(8 + len(header) + (1 << 31))
    assert header_problem(f).startswith("truncated:")
    assert damaged_parts(tmp_path / "model") == [f"transformer/{f.name} ({header_problem(f)})"]


def test_a_real_lora_still_lists_unchanged(tmp_path):
    save_first_layer_lora(tmp_path / "m" / "loras" / "style.safetensors")
    (row,) = list_models(tmp_path / "m")
    assert row["kind"] == "lora" and "damaged" not in row["detail"] and "link" not in row
