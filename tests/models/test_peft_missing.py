"""Without peft (the base install has no `lora`/`train` extra), LoRA rendering and training stop
with one line naming what to install, as the CLI prints a CheckpointError, not an import traceback."""

import sys

import pytest
import torch

from video.models.lora import LoraError, adaptable_layers
from video.models.svd import CheckpointError
from video.training.lora import LoraConfig, add_lora


@pytest.fixture
def no_peft(monkeypatch):
    for name in [m for m in sys.modules if m == "peft" or m.startswith("peft.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "peft", None)  # import peft -> ImportError, find_spec -> None


def test_rendering_with_a_lora_without_peft_is_one_line(no_peft):
    with pytest.raises(LoraError, match="needs the peft package: pip install peft") as e:
        adaptable_layers(torch.nn.Sequential(torch.nn.Linear(4, 4)))
    assert isinstance(e.value, CheckpointError)  # video/cli.py prints these as `error: ...`


def test_training_a_lora_without_peft_is_one_line(no_peft):
    with pytest.raises(LoraError, match="lora"):
        add_lora(torch.nn.Sequential(torch.nn.Linear(4, 4)), LoraConfig(enabled=True, rank=2, targets=["0"]))
