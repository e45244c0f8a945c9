"""A LoRA that does not fit is one LoraError naming the layer, raised before any weight
changes: a file whose A and B ranks disagree, and a misfit in a later layer or a later file
after good ones, leave every weight of the model as it was."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from video.models.lora import LoraError, apply_loras


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.Linear(6, 4))


def _weights(m: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in m.state_dict().items()}


def _unchanged(m: torch.nn.Module, before: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(v, before[k]) for k, v in m.state_dict().items())


def test_rank_mismatch_names_the_layer(tmp_path):
    m = _model()
    before = _weights(m)
    f = tmp_path / "ranks.safetensors"
    save_file({"lora_unet_1.lora_down.weight": torch.randn(4, 6), "lora_unet_1.lora_up.weight": torch.randn(4, 8),
               "lora_unet_1.alpha": torch.tensor(4.0)}, str(f))
    with pytest.raises(LoraError, match=r"ranks\.safetensors: lora_unet_1: lora_A/lora_down has rank 4 but "
                                        r"lora_B/lora_up \(4, 8\) has 8"):
        apply_loras(m, [(f, 1.0)])
    assert _unchanged(m, before)


def test_misfit_after_good_layers_and_files_changes_nothing(tmp_path):
    m = _model()
    before = _weights(m)
    good = tmp_path / "good.safetensors"
    save_file({"0.lora_A.weight": torch.randn(2, 8), "0.lora_B.weight": torch.randn(6, 2)}, str(good))
    # layer 0 fits, layer 1's A has 7 inputs where the layer has 6
    mixed = tmp_path / "mixed.safetensors"
    save_file({"0.lora_A.weight": torch.randn(2, 8), "0.lora_B.weight": torch.randn(6, 2),
               "1.lora_A.weight": torch.randn(2, 7), "1.lora_B.weight": torch.randn(4, 2)}, str(mixed))
    for loras in ([(mixed, 1.0)], [(good, 1.0), (mixed, 0.5)]):
        with pytest.raises(LoraError, match=r"mixed\.safetensors: LoRA for 1: A \(2, 7\) and B \(4, 2\) do not fit "
                                            r"weight \(4, 6\)"):
            apply_loras(m, loras)
        assert _unchanged(m, before)
    apply_loras(m, [(good, 1.0)])  # and a fitting one still merges: W + (alpha / r) B A, alpha = r
    from safetensors.torch import load_file

    g = load_file(str(good))
    assert torch.allclose(m[0].weight, before["0.weight"] + g["0.lora_B.weight"] @ g["0.lora_A.weight"], atol=1e-6)
