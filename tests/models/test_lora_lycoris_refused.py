"""A file LyCORIS wrote with another algorithm than LoRA (LoHa, LoKr) is refused whole, as the
README says, and the error names its kind: it said "no lora_A/lora_B ... keys; not a LoRA file",
which read as a damaged or mistaken file."""

from __future__ import annotations

import copy

import pytest
import torch

from video.models.lora import LoraError, apply_loras


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(16, 8)
        self.out = torch.nn.Linear(8, 8)


@pytest.mark.parametrize("algo, kind", [("loha", "LyCORIS LoHa"), ("lokr", "LyCORIS LoKr")])
def test_a_lycoris_loha_or_lokr_file_is_refused_by_its_name(tmp_path, algo, kind):
    pytest.importorskip("peft")
    pytest.importorskip("lycoris")
    from lycoris import create_lycoris

    trained = Net()
    network = create_lycoris(trained, 1.0, linear_dim=4, linear_alpha=2.0, algo=algo)  # lycoris' own file
    network.apply_to()
    with torch.no_grad():  # as after training: no zero factor left
        for p in network.parameters():
            p.copy_(torch.randn(p.shape) * 0.1)
    f = tmp_path / f"{algo}.safetensors"
    network.save_weights(str(f), torch.float32, None)

    base = Net()
    model = copy.deepcopy(base)
    with pytest.raises(LoraError, match=rf"^{f}: {kind} weights, not a LoRA; only LoRA files are applied") as e:
        apply_loras(model, [(f, 1.0)])
    assert "\n" not in str(e.value)
    from video.models.detect import detect_kind

    info = detect_kind(f)  # video info says the same
    assert info["kind"] == "unknown" and info["detail"].startswith(f"{kind} weights, not a LoRA")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), base.state_dict().values(), strict=True))
