"""A hub-cache snapshot whose blob is gone (``snapshots/<hash>/unet/...safetensors`` a link to
nothing) was "damaged safetensors header (not the JSON it should be)" in ``video models`` and
"No such file or directory: ..." in ``video info`` and ``video img2vid``. All three now say what
``--model`` says of a link to nothing: "a broken link (-> TARGET)"."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from video.models.detect import list_models
from video.models.sniff import header_problem
from video.models.svd import CheckpointError, load_svd

UNET = "unet/diffusion_pytorch_model.safetensors"


def _hub_snapshot(src: Path, models: Path) -> Path:
    """``src`` laid out as huggingface_hub's cache lays out a download: each file a relative link
    from ``snapshots/<hash>/`` to a blob named by its hash under ``blobs/``."""
    repo = models / "checkpoints" / "models--org--svd"
    snap = repo / "snapshots" / "0123abcd"
    (repo / "blobs").mkdir(parents=True)
    for f in sorted(q for q in src.rglob("*") if q.is_file()):
        rel = f.relative_to(src).as_posix()
        blob = repo / "blobs" / hashlib.sha256(rel.encode()).hexdigest()
        shutil.copyfile(f, blob)
        (snap / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(blob, (snap / rel).parent), snap / rel)
    return snap


@pytest.fixture
def snapshot(tmp_path, tiny_diffusers_dir) -> Path:
    snap = _hub_snapshot(tiny_diffusers_dir, tmp_path / "models")
    (snap / UNET).resolve().unlink()  # the blob is gone, its link stays
    return snap


def _said(link: Path) -> str:
    return f"a broken link (-> {os.readlink(link)})"


def test_video_models_names_the_broken_link(snapshot, tmp_path):
    link = snapshot / UNET
    assert header_problem(link) == _said(link)
    (row,) = [r for r in list_models(tmp_path / "models") if r["path"] == str(snapshot)]
    assert row["detail"].endswith(f"; damaged: {UNET} ({_said(link)})"), row


def test_video_info_names_the_broken_link(snapshot, cli):
    r = cli("info", snapshot)
    assert r.returncode == 2 and r.errors == [f"error: {snapshot / UNET}: {_said(snapshot / UNET)}"], r.stderr


def test_img2vid_names_the_broken_link_before_any_part_loads(snapshot):
    with pytest.raises(CheckpointError) as e:
        load_svd(snapshot)
    assert str(e.value) == f"{snapshot / UNET}: {_said(snapshot / UNET)}"


def test_a_whole_snapshot_still_loads(tmp_path, tiny_diffusers_dir, cli):
    snap = _hub_snapshot(tiny_diffusers_dir, tmp_path / "models")
    assert header_problem(snap / UNET) is None
    assert "damaged" not in next(r for r in list_models(tmp_path / "models") if r["path"] == str(snap))["detail"]
    assert cli("info", snap).returncode == 0
