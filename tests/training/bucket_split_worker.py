"""Run under ``torchrun --nproc_per_node 2`` by ``test_bucket_split.py``: a bucketed run of 2
processes x batch 1, whole and stopped at its step-2 checkpoint (one launch, so the process
start-up is paid once). Rank 0 writes the losses to ``OUT/results.json``."""

import json
import os
import sys
from pathlib import Path

from video.config import load_config
from video.training.config import TrainConfig
from video.training.trainer import train


def main() -> None:
    out = Path(sys.argv[1])

    def config(name: str) -> TrainConfig:
        return load_config(TrainConfig, "configs/train/dit_stage1_image.yaml", [f"out={out / name}", *sys.argv[2:]])

    results = {"two": train(config("two"), progress=False)["losses"],
               "cut": train(config("cut"), progress=False, stop_after=2)["losses"]}
    if os.environ["RANK"] == "0":
        (out / "results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main()
