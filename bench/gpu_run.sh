#!/usr/bin/env bash
# One device call: install carried wheels (.whl/: diffusers and omegaconf, which vendors antlr4;
# Python 3.12 needs no importlib_metadata wheel), then run the
# named side-by-side benchmarks (default: both). Results land in $OUT.
#   bash bench/gpu_run.sh img2vid txt2vid
#   bash bench/gpu_run.sh img2vid_speed   # issue 10: every img2vid configuration in one process (JSON after each row)
#   bash bench/gpu_run.sh txt2vid_speed   # issue 4: DiT vs Wan eager and with compiled blocks, plus kernel profiles
#   bash bench/gpu_run.sh dit_levers      # issue 4: compiled DiT variants beside Wan compiled (~3 min)
#   bash bench/gpu_run.sh compile_units   # compile time of whole UNet blocks vs their parts (~5 min)
#   BENCH_TIMEOUT=300 IMG2VID_ROWS=diffusers,eager,compiled bash bench/gpu_run.sh img2vid_speed
#     (two targets in one device call: cap each one's seconds, and pick img2vid_speed's rows; a
#     target still running BENCH_KILL_AFTER=20 s after its TERM is killed, so two capped targets
#     take at most their caps plus 20 s each)
# .whl/ is git-ignored: make it here first (`python3 -m pip download --no-deps diffusers==0.42.1
# omegaconf==2.4.0 -d .whl`, 6.6 MB) and name it in the call's carry (["\.whl"]). One target per
# call (each is capped at 570 s; the device call's limit is 600 s and a session's 15 minutes
# hold one start and one run): txt2vid_speed OR img2vid_speed OR compile_units.
#   GPU_RUN_ALLOW_CPU=1 bash bench/gpu_run.sh train   # no GPU: the tiny sizes on the CPU, outputs
#     named *_tiny_cpu.json (without it a machine whose nvidia-smi fails is refused: the targets
#     are sized for a card, and img2vid's would start a full-size SVD-XT run on the CPU)
set -o pipefail
TARGETS="img2vid img2vid_speed img2vid_compile train txt2vid txt2vid_speed dit_levers compile_units"
[ $# -gt 0 ] || set -- img2vid txt2vid
for b in "$@"; do  # every name before anything runs: a typo in the second must not cost the first's minutes
  case " $TARGETS " in *" $b "*) ;; *)
    echo "gpu_run.sh: unknown target '$b' (${TARGETS// /, }); nothing run" >&2; exit 2 ;; esac
done
if gpu=$(nvidia-smi --query-gpu=name,memory.used,memory.total,clocks.sm --format=csv 2>/dev/null); then
  # the card's sizes, outputs named as before (the published files keep these names)
  SVD="--model svd_xt" S=svd_xt DIT= D=dit_l TR=
elif [ "${GPU_RUN_ALLOW_CPU:-}" = 1 ]; then
  gpu="no GPU (nvidia-smi failed): GPU_RUN_ALLOW_CPU=1, tiny models on the CPU"
  SVD="--model tiny --device cpu" S=tiny_cpu DIT="--size tiny" D=tiny_cpu TR=_tiny_cpu
else
  echo "gpu_run.sh: no GPU here (nvidia-smi failed); set GPU_RUN_ALLOW_CPU=1 to run the tiny sizes on the CPU" >&2
  exit 2
fi
ls .whl/diffusers-*.whl .whl/omegaconf-*.whl >/dev/null 2>&1 || {
  echo "gpu_run.sh: no .whl/diffusers-*.whl and .whl/omegaconf-*.whl: pip download them into .whl and carry .whl" >&2; exit 2; }
# a machine still warm from an earlier call keeps compiled artefacts: the cold-start figures
# must not read them (the warm row uses the compile cache on purpose, within one run)
CACHE=${BENCH_COMPILE_CACHE:-/tmp/video_compile_cache}
rm -rf "$CACHE"
export TORCHINDUCTOR_CACHE_DIR=$(mktemp -d) TRITON_CACHE_DIR=$(mktemp -d)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_VERBOSITY=error DIFFUSERS_VERBOSITY=error
OUT=${OUT:-bench/results}
T=${BENCH_TIMEOUT:-570}
# SIGTERM at $T s, then SIGKILL $K s later: a process stuck in teardown (a CUDA context, compile
# workers) after the TERM must not hold the device call past its limit
K=${BENCH_KILL_AFTER:-20}
ROWS=${IMG2VID_ROWS:+--only $IMG2VID_ROWS}
# Python's warning lines and the source line printed under each; an error line that merely
# contains "warn" is kept (the filter was -i "warn")
QUIET='[A-Za-z]*Warning: |^ +warnings\.warn\('
# grep -v exits 1 where it printed nothing (a target whose every line was a warning): not a failure
quiet() { grep --line-buffered -v -E "$QUIET" || [ $? -eq 1 ]; }
mkdir -p "$OUT"
printf '%s\n' "$gpu" | tee "$OUT/gpu.txt"
failed= first=
for b in "$@"; do
  case $b in
    img2vid) python3 bench/img2vid.py $SVD --repeats 2 --only diffusers,eager --json "$OUT/img2vid_$S.json" 2>&1 | quiet | tee "$OUT/img2vid.log" ;;
    img2vid_speed) timeout -k $K $T python3 bench/img2vid.py $SVD --repeats 1 $ROWS --profile --compile-cache "$CACHE" --json "$OUT/img2vid_speed_$S.json" 2>&1 | quiet | tee "$OUT/img2vid_speed.log" ;;
    img2vid_compile) python3 bench/img2vid.py $SVD --repeats 2 --only diffusers,eager,compiled --compile-cache "" --json "$OUT/img2vid_${S}_compile.json" 2>&1 | quiet | tee "$OUT/img2vid_compile.log" ;;
    train) python3 bench/train.py $DIT --json "$OUT/train$TR.json" 2>&1 | quiet | tee "$OUT/train.log" ;;
    txt2vid) python3 bench/txt2vid.py $DIT --json "$OUT/txt2vid_$D.json" 2>&1 | quiet | tee "$OUT/txt2vid.log" ;;
    compile_units) timeout -k $K $T python3 bench/compile_units.py $SVD --json "$OUT/compile_units_$S.json" 2>&1 | quiet | tee "$OUT/compile_units.log" ;;
    txt2vid_speed) timeout -k $K $T python3 bench/txt2vid.py $DIT --compile --profile --json "$OUT/txt2vid_speed_$D.json" 2>&1 | quiet | tee "$OUT/txt2vid_speed.log" ;;
    dit_levers) timeout -k $K $T python3 bench/dit_levers.py $DIT --profile --json "$OUT/dit_levers_$D.json" 2>&1 | quiet | tee "$OUT/dit_levers.log" ;;
  esac
  rc=$?  # each target's own status (pipefail): a failed one is not hidden by a later one's success
  [ $rc -eq 0 ] || { failed="$failed $b (exit $rc)"; first=${first:-$rc}; }
done
# the first failed target's status (one target: its own, e.g. 137 for timeout's SIGKILL)
[ -z "$failed" ] || { echo "gpu_run.sh: failed:$failed" >&2; exit "$first"; }
