"""``--lora`` values and files refused in one line: a scale that is NaN or infinite (it merged
into NaN weights, a black video with exit status 0) and a scale that is not a number after an
existing file or LoRA name (it was looked up as a LoRA's name), both before any weights load;
a pickled LoRA (it reached safetensors and said "header too large" without naming the file;
never unpickled) and a truncated .safetensors file, by :func:`check_lora_file` and when read."""

from __future__ import annotations

import math
import pickle

import pytest
import torch
from model_test_files import save_first_layer_lora, two_layer_model

from video.models.folder import resolve_lora_arg
from video.models.lora import LoraError, apply_loras, parse_lora_arg

_model, _lora = two_layer_model, save_first_layer_lora


class _Evil:
    """Unpickling this writes ``marker``: a LoRA file that ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("tail", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_a_non_finite_scale_is_refused_everywhere(tmp_path, tail):
    lora = _lora(tmp_path / "style.safetensors")
    value = f"{lora}:{tail}"
    with pytest.raises(LoraError, match=rf"^--lora {value}: the scale must be a finite number$"):
        parse_lora_arg(value)
    with pytest.raises(LoraError, match="the scale must be a finite number"):
        resolve_lora_arg(value, tmp_path / "models")
    model = _model()
    before = model[0].weight.clone()
    with pytest.raises(LoraError, match="must be a finite number"):  # callers that pass numbers (ComfyUI)
        apply_loras(model, [(lora, float(tail))])
    assert torch.equal(model[0].weight, before)


def test_a_finite_scale_still_parses(tmp_path):
    lora = _lora(tmp_path / "style.safetensors")
    assert parse_lora_arg(f"{lora}:-0.5") == (str(lora), -0.5)
    assert resolve_lora_arg(f"{lora}:1e-1", tmp_path / "models") == f"{lora}:1e-1"
    assert parse_lora_arg("C:\\loras\\x.safetensors") == ("C:\\loras\\x.safetensors", 1.0)


def test_a_nan_scale_in_a_yaml_config_is_refused_before_the_model_loads(tmp_path, capsys, monkeypatch):
    from video.cli import main

    monkeypatch.chdir(tmp_path)
    _lora(tmp_path / "style.safetensors")
    (tmp_path / "run.yaml").write_text("lora:\n  - style.safetensors:nan\n")
    assert main(["txt2vid", "--model", "tiny", "--config", "run.yaml", "--output", "x.mp4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --lora style.safetensors:nan: the scale must be a finite number"]
    assert not (tmp_path / "x.mp4").exists()


def test_a_scale_that_is_not_a_number_after_a_file_or_a_name_says_so(tmp_path):
    models = tmp_path / "models"
    lora = _lora(tmp_path / "style.safetensors")
    with pytest.raises(LoraError, match=rf"^--lora {lora}:abc: the scale 'abc' is not a number"):
        resolve_lora_arg(f"{lora}:abc", models)
    _lora(models / "loras" / "motion.safetensors")
    with pytest.raises(LoraError, match=r"^--lora motion:abc: the scale 'abc' is not a number"):
        resolve_lora_arg("motion:abc", models)
    with pytest.raises(Exception, match="no loras named 'other:abc'"):  # no such file or name: as before
        resolve_lora_arg("other:abc", models)


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".pth", ".bin", ".safetensors", ""])
def test_a_pickled_lora_is_refused_unread_naming_it(tmp_path, suffix):
    from video.models.lora import check_lora_file

    marker = tmp_path / "PWNED"
    path = tmp_path / f"evil{suffix}"
    torch.save({"0.lora_A.weight": torch.randn(2, 8), "x": _Evil(marker)}, path)
    legacy = tmp_path / f"legacy{suffix}"
    legacy.write_bytes(pickle.dumps(_Evil(marker), protocol=4))
    for p in (path, legacy):
        msg = rf"^{p}: pickled LoRA files are not loaded; convert it to \.safetensors$"
        with pytest.raises(LoraError, match=msg):
            check_lora_file(p)
        with pytest.raises(LoraError, match=msg):
            apply_loras(_model(), [(p, 1.0)])
    assert not marker.exists()


def test_a_truncated_safetensors_lora_is_one_line_naming_it(tmp_path):
    from video.models.lora import check_lora_file

    good = _lora(tmp_path / "a" / "lora.safetensors")
    data = good.read_bytes()
    cut = tmp_path / "b" / "lora.safetensors"
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(LoraError, match=rf"^{cut}: a truncated or damaged \.safetensors file \("):
        check_lora_file(cut)
    with pytest.raises(LoraError, match=rf"^{cut}: a truncated or damaged"):
        apply_loras(_model(), [(good, 1.0), (cut, 1.0)])
    other = tmp_path / "notes.gguf"
    other.write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(LoraError, match=rf"^{other}: not a \.safetensors LoRA file"):
        check_lora_file(other)
    sft = tmp_path / "style.sft"  # ComfyUI's short suffix is safetensors
    sft.write_bytes(good.read_bytes())
    check_lora_file(sft)
    assert math.isfinite(apply_loras(_model(), [(sft, 0.5)])[0].weight.sum().item())
