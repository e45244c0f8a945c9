"""Run under ``torchrun --nproc_per_node 2`` by ``test_distributed.py`` (one launch, several
runs, so the process start-up is paid once): DDP, FSDP2 uninterrupted, and FSDP2 stopped at a
sharded (DCP, safetensors) checkpoint and resumed. Rank 0 writes the losses to ``OUT/results.json``."""

import json
import os
import sys
from pathlib import Path

from video.config import load_config
from video.training.config import TrainConfig
from video.training.trainer import train


def config(out: Path, *overrides: str) -> TrainConfig:
    return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml",
                       [f"out={out}", *sys.argv[2:], *overrides])


def main() -> None:
    out = Path(sys.argv[1])
    results = {"ddp": train(config(out / "ddp", "parallel=ddp"), progress=False)["losses"],
               "fsdp": train(config(out / "fsdp", "parallel=fsdp"), progress=False)["losses"]}
    resumed = config(out / "fsdp_resumed", "parallel=fsdp")
    results["fsdp_first"] = train(resumed, progress=False, stop_after=3)["losses"]
    results["fsdp_resumed"] = train(resumed, progress=False)["losses"]
    if os.environ["RANK"] == "0":
        (out / "results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main()
