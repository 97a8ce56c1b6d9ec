#!/usr/bin/env bash
# The GPU check (issue 15), run on a GPU machine from the repository root, from a bundle that
# scripts/gpu/build-bundle.sh made on a build machine (the GPU machine needs no Rust):
#     scripts/gpu/check.sh [BUNDLE_DIR]          # default gpu-bundle; results under $OUT
#     scripts/gpu/check.sh --dry-run [BUNDLE_DIR] # the parts that need no GPU (a build machine)
# It takes at most ~9.5 minutes (each step has a time limit; 3-5 expected):
#   1. prints the GPU, driver and CUDA library versions; finds the CUDA 13 libraries the
#      binaries link (cublas, cublasLt, curand, nvrtc, nccl, cudart) in the machine's Python
#      wheels (torch's nvidia-* packages) and the driver's libcuda.so.1;
#   2. runs the GPU test binary (launch/tests/gpu.rs);
#   3. trains examples/cifar_ebm.toml with --gpus 1 on generated CIFAR-format data (k = 60, and
#      again with k = 20: the difference is the sampler's ∇ₓE rate), sampling the GPU's memory;
#   4. runs the PyTorch reference of the same model and recipe (benches/compare/torch_igebm.py)
#      in fp32 and bf16 autocast on the same GPU;
#   5. writes $OUT/gpu-check.json, $OUT/gpu-check.md, $OUT/gpu-tests.log and the other logs in
#      $OUT/logs.tar.gz — OUT defaults to gpu-check-out.
# Every step has its own time limit, so one that hangs or is slow still leaves the others' results.
set -uo pipefail

dry=0
if [ "${1:-}" = "--dry-run" ]; then dry=1; shift; fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
bundle=${1:-gpu-bundle}
OUT=${OUT:-$root/gpu-check-out}
mkdir -p "$OUT"
work=$(mktemp -d)
STEPS=${STEPS:-300}          # training steps of the k = 60 run (cut short by its time limit)
TRAIN_LIMIT=${TRAIN_LIMIT:-120}
log() { echo "[$(date -u +%T)] $*" | tee -a "$OUT/check.log"; }
log "check.sh: bundle $bundle, dry run $dry, work dir $work"

# 0. Unpack the bundle (xz, or Python's lzma where xz is missing).
bin=$work/bin
mkdir -p "$bin"
if [ -f "$bundle/manifest.json" ]; then
  cp "$bundle/manifest.json" "$OUT/manifest.json"
  for f in "$bundle"/*.xz; do
    name=$(basename "$f" .xz)
    xz -dc "$f" >"$bin/$name" 2>/dev/null ||
      python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$f" "$bin/$name"
    chmod +x "$bin/$name"
  done
  log "unpacked: $(ls "$bin" | tr '\n' ' ')"
else
  log "no bundle at $bundle (scripts/gpu/build-bundle.sh makes one)"
fi

# 1. Libraries and versions.
libs=$(python3 - <<'PY'
import glob, os, site, sys
want = ["libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10", "libnvrtc.so.13",
        "libnccl.so.2", "libcudart.so.13"]
roots = [r for r in site.getsitepackages() + [site.getusersitepackages()] if os.path.isdir(r)]
dirs = []
for name in want:
    hits = []
    for r in roots:
        hits += glob.glob(os.path.join(r, "nvidia", "**", name), recursive=True)
        hits += glob.glob(os.path.join(r, "torch", "lib", name))
    if not hits:
        print(f"missing: {name} in {roots}", file=sys.stderr)
        continue
    d = os.path.dirname(os.path.realpath(hits[0]))
    print(f"{name}: {hits[0]}", file=sys.stderr)
    if d not in dirs:
        dirs.append(d)
print(":".join(dirs))
PY
)
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu; do
  [ -e "$d/libcuda.so.1" ] && libs="$libs:$d"
done
if [ $dry = 1 ] && ! ldconfig -p | grep -q 'libcuda\.so\.1'; then
  # No driver here: build-bundle.sh's link stand-ins (every call returns CUDA_ERROR_NO_DEVICE)
  # and the nvcc venv's libcudart let the binaries start as on a machine without a GPU.
  stubs=${STUBS:-$root/target-cuda/link-stubs}
  cudart=$(dirname "$(readlink -f "$stubs/libcudart.so" 2>/dev/null || echo .)")
  libs="$stubs:$cudart:$libs"
  log "dry run: no libcuda.so.1 here, using the stand-ins in $stubs"
fi
export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
{
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1
  nvidia-smi 2>&1 | sed -n 3p
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "nccl", torch.cuda.nccl.version() if torch.cuda.is_available() else None)' 2>&1
  for b in "$bin"/*; do echo "== ldd $(basename "$b")"; ldd "$b" 2>&1 | grep -E "cuda|cublas|curand|nvrtc|nccl|not found"; done
} 2>&1 | tee "$OUT/versions.txt"

# 2. The GPU tests (a dry run: each must skip with its reason).
if [ -x "$bin/gpu-tests" ]; then
  log "GPU tests"
  timeout 180 "$bin/gpu-tests" --test-threads=1 --nocapture >"$OUT/gpu-tests.log" 2>&1
  log "GPU tests: exit $? ($(grep -E '^test result' "$OUT/gpu-tests.log" | tail -n1))"
fi

# 3. ebm: the CIFAR-10 recipe on generated data, --gpus 1.
data=$work/cifar
python3 - "$data" <<'PY'
import os, sys
import numpy as np
d = sys.argv[1]; os.makedirs(d, exist_ok=True)
rng = np.random.default_rng(0)
for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
    n = 2000
    rec = np.empty((n, 3073), np.uint8)
    rec[:, 0] = rng.integers(0, 10, n)
    rec[:, 1:] = rng.integers(0, 256, (n, 3072))
    rec.tofile(os.path.join(d, name))
PY
log "generated CIFAR-format data in $data ($(du -sh "$data" | cut -f1))"
train() { # name k steps limit
  local name=$1 k=$2 steps=$3 limit=$4
  local args=(examples/cifar_ebm.toml --gpus 1 --out "$work/$name" --log-format json
    --set "data.dir=\"$data\"" --set "loss.k=$k" --set "train.steps=$steps"
    --set train.log_every=10 --set train.plot_every=0 --set "train.checkpoint_every=$steps"
    --set eval.n_samples=64)
  if [ $dry = 1 ]; then
    # The config must load; --gpus 1 must fail cleanly (exit 2, no GPU), not crash.
    log "dry run: ebm-launch check; ebm-launch --gpus 1 (expect exit 2: no GPU)"
    "$bin/ebm-launch" check "${args[@]:0:1}" "${args[@]:7}" >"$OUT/$name.check.txt" 2>&1
    log "ebm-launch check: exit $?"
    timeout 60 "$bin/ebm-launch" "${args[@]}" >"$OUT/$name.log" 2>&1
    log "ebm-launch --gpus 1: exit $? ($(tail -n1 "$OUT/$name.log" | cut -c1-200))"
    return
  fi
  log "ebm $name: k=$k, $steps steps, limit $limit s"
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$OUT/$name.mem" 2>/dev/null &
  local smi=$!
  timeout "$limit" "$bin/ebm-launch" "${args[@]}" >"$OUT/$name.log" 2>&1
  log "ebm $name: exit $?"
  kill $smi 2>/dev/null
}
train ebm_k60 60 "$STEPS" "$TRAIN_LIMIT"
train ebm_k20 20 "$STEPS" 75

# 4. PyTorch, the same model and recipe.
for p in fp32 bf16; do
  if [ $dry = 1 ]; then
    python3 -c 'import torch' 2>/dev/null &&
      timeout 300 python3 benches/compare/torch_igebm.py --device cpu --iters 1 --warmup 1 --k 2 \
        --channels 8,16,16 --buffer 256 --precision $p >>"$OUT/torch.jsonl" 2>>"$OUT/torch.err" ||
      python3 -m py_compile benches/compare/torch_igebm.py
    continue
  fi
  log "PyTorch $p"
  timeout 100 python3 benches/compare/torch_igebm.py --device cuda --precision $p --iters 20 \
    >>"$OUT/torch.jsonl" 2>>"$OUT/torch.err"
  log "PyTorch $p: exit $?"
done

# 5. Summary. A GPU machine returns at most 8 files from $OUT: the summary, the test log and
#    one archive of the rest.
python3 scripts/gpu/summarize.py "$OUT" "$dry" | tee -a "$OUT/check.log"
(cd "$OUT" && tar czf logs.tar.gz --exclude logs.tar.gz --exclude gpu-check.json \
  --exclude gpu-check.md --exclude gpu-tests.log . &&
  find . -maxdepth 1 -type f ! -name logs.tar.gz ! -name gpu-check.json ! -name gpu-check.md \
    ! -name gpu-tests.log -delete)
rm -rf "$work"
