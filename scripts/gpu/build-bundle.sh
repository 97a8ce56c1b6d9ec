#!/usr/bin/env bash
# Build the GPU bundle on a machine with no GPU and no CUDA toolkit (issue 15, docs/gpu-build.md):
# `ebm-launch` with `--features cuda-train` and the GPU test binary (launch/tests/gpu.rs), for
# sm_90 (H100/H200) by default, stripped and xz-compressed into one folder with a manifest, small
# enough to travel to a GPU machine (≤ 60 MiB). Run from anywhere:
#     scripts/gpu/build-bundle.sh [OUT_DIR]           # default OUT_DIR: gpu-bundle (git-ignored)
# Then, on the GPU machine, from the repository root:  scripts/gpu/check.sh gpu-bundle
#
# What it does:
#   1. installs nvcc 13.0 and the CUDA runtime from PyPI wheels into a venv (CUDA_VENV, default
#      ~/.cache/ebm-cuda13), pinned to one 13.0.x (unpinned, pip mixes 13.x releases);
#   2. makes link stand-ins for libcuda / cublas / cublasLt / curand / nvrtc / nccl (candle 0.11
#      links them: cudarc `dynamic-linking`): tiny shared libraries with the real sonames that
#      define every function cudarc declares, each returning error 100 (CUDA_ERROR_NO_DEVICE).
#      The binaries record the real sonames as NEEDED and find the real libraries on the GPU
#      machine (check.sh sets LD_LIBRARY_PATH). The stand-ins never leave this machine; here they
#      let the binaries start as on a machine without a GPU (`check.sh --dry-run`);
#   3. builds in release (one cargo invocation, so candle's CUDA kernels are compiled once) into
#      CARGO_TARGET_DIR (default target-cuda, beside the CPU build's target/);
#   4. strips, compresses and writes OUT_DIR/manifest.json (commit, features, sizes, sha256).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
out=${1:-gpu-bundle}
features=cuda-train
start=$(date +%s)

# 1. nvcc 13.0 from PyPI.
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}   # no GPU to ask: name the target (90 = H100/H200)
CUDA_VENV=${CUDA_VENV:-$HOME/.cache/ebm-cuda13}
if [ ! -x "$CUDA_VENV/bin/python" ]; then
  python3 -m venv "$CUDA_VENV"
  "$CUDA_VENV/bin/pip" install -q \
    nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
    nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85
fi
CUDA_ROOT=$("$CUDA_VENV/bin/python" -c 'import os, nvidia; print(os.path.join(nvidia.__path__[0], "cu13"))')
export CUDA_ROOT CUDA_PATH=$CUDA_ROOT CUDA_HOME=$CUDA_ROOT CUDA_TOOLKIT_ROOT_DIR=$CUDA_ROOT
export PATH=$CUDA_ROOT/bin:$PATH
nvcc_version=$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p')
echo "nvcc $nvcc_version, CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP"

# 2. Link stand-ins, from the function names cudarc declares.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target-cuda}
cargo fetch --quiet
stubs=$CARGO_TARGET_DIR/link-stubs
mkdir -p "$stubs"
cudarc_src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.* | sort -V | tail -n1)
for entry in driver:cuda:libcuda.so.1 cublas:cublas:libcublas.so.13 \
  cublaslt:cublasLt:libcublasLt.so.13 curand:curand:libcurand.so.10 \
  nvrtc:nvrtc:libnvrtc.so.13 nccl:nccl:libnccl.so.2; do
  IFS=: read -r module lib soname <<<"$entry"
  grep -hoE '^\s+fn (cu|nccl|nvrtc|curand|cublas)[A-Za-z0-9_]*\(' "$cudarc_src"/src/"$module"/sys/*.rs \
    | sed -E 's/^\s+fn //; s/\($//' | sort -u | sed 's/.*/int &(void) { return 100; }/' >"$stubs/$lib.c"
  cc -shared -fPIC -o "$stubs/lib$lib.so" -Wl,-soname,"$soname" "$stubs/$lib.c"
  ln -sf "lib$lib.so" "$stubs/$soname"   # the name the loader looks for (check.sh --dry-run)
done
# candle-kernels' C++ objects call the CUDA runtime's internals, which cudarc does not declare:
# link the wheel's real libcudart.so.13 (it ships no unversioned symlink).
ln -sf "$(ls "$CUDA_ROOT"/lib/libcudart.so.1[0-9]* | head -n1)" "$stubs/libcudart.so"
export RUSTFLAGS="${RUSTFLAGS:-} -L native=$stubs"

# 3. One cargo invocation: the ebm-launch binary (an integration test's dependency) and the GPU
#    test binary, with one feature set.
build_log=$(mktemp)
cargo test --release -p ebm-launch --features "$features" --test gpu --no-run \
  --message-format=json-render-diagnostics >"$build_log"
test_exe=$(python3 - "$build_log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "gpu" and m.get("executable"):
        print(m["executable"])
PY
)
rm -f "$build_log"
launch_exe=$CARGO_TARGET_DIR/release/ebm-launch
[ -x "$test_exe" ] && [ -x "$launch_exe" ] || { echo "build produced no binaries" >&2; exit 1; }
built=$(date +%s)

# 4. Strip, compress, manifest.
rm -rf "$out"
mkdir -p "$out"
for pair in "ebm-launch:$launch_exe" "gpu-tests:$test_exe"; do
  name=${pair%%:*}
  strip -o "$out/$name" "${pair#*:}"
  xz -6 -T2 "$out/$name"
done
python3 - "$out" "$features" "$CUDA_COMPUTE_CAP" "$nvcc_version" "$((built - start))" <<'PY'
import hashlib, json, os, subprocess, sys
out, features, cap, nvcc, seconds = sys.argv[1:]
def git(*args):
    return subprocess.run(["git", *args], capture_output=True, text=True).stdout.strip()
files = {}
for name in sorted(os.listdir(out)):
    path = os.path.join(out, name)
    data = open(path, "rb").read()
    files[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
manifest = {
    "commit": git("rev-parse", "HEAD"),
    "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    "features": features,
    "cuda_compute_cap": cap,
    "nvcc": nvcc,
    "rustc": subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip(),
    "build_seconds": int(seconds),
    "files": files,
    "needs": "the driver's libcuda.so.1 and CUDA 13 libcublas/cublasLt/curand/nvrtc/nccl/cudart, "
             "found by scripts/gpu/check.sh in the machine's Python wheels",
}
json.dump(manifest, open(os.path.join(out, "manifest.json"), "w"), indent=2)
total = sum(f["bytes"] for f in files.values())
print(f"{out}: {len(files)} files, {total / 2**20:.1f} MiB, built in {seconds} s")
if total > 60 * 2**20:
    sys.exit(f"{out} is {total / 2**20:.1f} MiB, over the 60 MiB a GPU machine can receive")
PY
