#!/usr/bin/env bash
# One device call: install carried wheels (.whl/: diffusers and omegaconf, which vendors antlr4;
# Python 3.12 needs no importlib_metadata wheel), then run the
# named side-by-side benchmarks (default: both). Results land in $OUT.
#   bash bench/gpu_run.sh img2vid txt2vid
#   bash bench/gpu_run.sh img2vid_speed   # issue 10: every img2vid configuration in one process (JSON after each row)
#   bash bench/gpu_run.sh txt2vid_speed   # issue 4: DiT vs Wan eager and with compiled blocks, plus kernel profiles
#   bash bench/gpu_run.sh compile_units   # compile time of whole UNet blocks vs their parts (~5 min)
set -o pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error DIFFUSERS_VERBOSITY=error
OUT=${OUT:-bench/results}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.used,memory.total,clocks.sm --format=csv | tee "$OUT/gpu.txt"
[ $# -gt 0 ] || set -- img2vid txt2vid
for b in "$@"; do
  case $b in
    img2vid) python3 bench/img2vid.py --model svd_xt --repeats 2 --only diffusers,eager --json "$OUT/img2vid_svd_xt.json" 2>&1 | grep --line-buffered -v -i "warn" | tee "$OUT/img2vid.log" ;;
    img2vid_speed) timeout 570 python3 bench/img2vid.py --model svd_xt --repeats 1 --compile-cache /tmp/video_compile_cache --json "$OUT/img2vid_speed_svd_xt.json" 2>&1 | grep --line-buffered -v -i "warn" | tee "$OUT/img2vid_speed.log" ;;
    img2vid_compile) python3 bench/img2vid.py --model svd_xt --repeats 2 --only diffusers,eager,compiled --compile-cache "" --json "$OUT/img2vid_svd_xt_compile.json" 2>&1 | grep --line-buffered -v -i "warn" | tee "$OUT/img2vid_compile.log" ;;
    train) python3 bench/train.py --json "$OUT/train.json" 2>&1 | grep --line-buffered -v -i "warn" | tee "$OUT/train.log" ;;
    txt2vid) python3 bench/txt2vid.py --json "$OUT/txt2vid_dit_l.json" 2>&1 | grep --line-buffered -v -i "warn" | tee "$OUT/txt2vid.log" ;;
    compile_units) timeout 570 python3 bench/compile_units.py --model svd_xt --json "$OUT/compile_units_svd_xt.json" 2>&1 | grep --line-buffered -v -i "warn" | tee "$OUT/compile_units.log" ;;
    txt2vid_speed) timeout 570 python3 bench/txt2vid.py --compile --profile --json "$OUT/txt2vid_speed_dit_l.json" 2>&1 | grep --line-buffered -v -i "warn" | tee "$OUT/txt2vid_speed.log" ;;
  esac
done
