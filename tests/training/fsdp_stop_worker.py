"""Run under ``torchrun --nproc_per_node 2`` by ``test_resume_across_setups.py``: train the
stage-1 DiT config (with the overrides on the command line) into OUT, stopping at STOP, so the
run leaves a sharded (FSDP, DCP) checkpoint for one process to resume."""

import sys

from video.config import load_config
from video.training.config import TrainConfig
from video.training.trainer import train

if __name__ == "__main__":
    out, stop, *overrides = sys.argv[1:]
    train(load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [f"out={out}", *overrides]),
          progress=False, stop_after=int(stop))
