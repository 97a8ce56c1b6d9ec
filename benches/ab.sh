#!/usr/bin/env bash
# ab.sh BASE_DIR NEW_DIR [ROUNDS]: one commit's bench binaries against another's, alternately, in
# one window (this machine drifts ±25 % over minutes, so only interleaved runs compare).
# Each DIR holds bench-{samplers,training,conv,losses} copied from target/release/deps after
# `cargo bench --no-run -p ebm-benches` at that commit. Prints one line per run: which, bench, time.
set -euo pipefail
base=$1; new=$2; rounds=${3:-4}
run() {
  "$1/bench-$2" --bench --warm-up-time 1 --measurement-time 4 --noplot "$3" 2>/dev/null \
    | grep -vE "%|^$|Found|outlier|mild|severe" | grep -E "^[a-z_]+/|time:" | tr -s ' ' \
    | paste -d' ' - - | awk -v w="$4" '{print w, $1, $5, $6}'
}
for _ in $(seq "$rounds"); do
  for which in base new; do
    dir=$base; [ "$which" = new ] && dir=$new
    run "$dir" samplers 'langevin_step/.*/1000_chains' "$which"
    run "$dir" training 'pcd_step' "$which"
    run "$dir" conv 'cpu_fused_b64' "$which"
    run "$dir" losses 'score_matching_exact' "$which"
  done
done
