#!/usr/bin/env bash
# One device call: install carried wheels (diffusers, omegaconf; see .whl/), then run the
# side-by-side image-to-video benchmark at SVD-XT size. Results land in $OUT.
set -o pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error DIFFUSERS_VERBOSITY=error
OUT=${OUT:-bench/results}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.used,memory.total,clocks.sm --format=csv | tee "$OUT/gpu.txt"
python3 bench/img2vid.py --size svd_xt --repeats 2 --json "$OUT/img2vid_svd_xt.json" 2>&1 | grep -v -i "warn" | tee "$OUT/bench.log"
