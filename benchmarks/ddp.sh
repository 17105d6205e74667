#!/bin/sh
# Data-parallel training benchmark (docs/distributed.md, BENCHMARKS.md). For each of the five
# study models at the demo's budget (3e5 parameters, 32x32, 1 channel, the study's token grids),
# STEPS PGD-1 adversarial training steps at a global batch of BATCH images, run as
#   1 process x 2 threads   (ADV_THREADS=2 adv)
#   2 processes x 1 thread  (mpirun -np 2 -x ADV_THREADS=1 adv, BATCH/2 per process)
# Prints one row per model: training images/s of each, the 2-process run's mean allreduce
# seconds per step (gradients and the step's numbers, from fit's JSON-lines log, first step
# excluded) and the gradient bytes each process sends per step (fp32).
# The timed fit follows a one-step warm-up fit of the same model.
# Then (FULL=0 skips it) the training throughput of one process (2 threads) on each model at the
# study's full size (224x224 RGB, 1000 classes, fp32, PGD-1, FULL_STEPS steps of FULL_BATCH
# images after a one-step warm-up): rows "| arch (full) | parameters | gradient MB | img/s |",
# the measured per-process throughput that benchmarks/ddp_projection.sh reads (BENCH=file).
# ADV_DDP_OVERLAP=0 starts the gradient buckets after the backward pass instead of during it.
# Usage: sh benchmarks/ddp.sh   (make bench-ddp); ADV=path STEPS=n BATCH=n MODELS="a b" override.
set -eu
ADV=${ADV:-.build/release/adv}
STEPS=${STEPS:-8}
FULL=${FULL:-1}
FULL_STEPS=${FULL_STEPS:-2}
FULL_BATCH=${FULL_BATCH:-4}
BATCH=${BATCH:-64}
MODELS=${MODELS:-"convnext_tiny swin_tiny poolformer_s36 deit_small resnet50_gelu"}
MPIRUN=${MPIRUN:-mpirun --oversubscribe --allow-run-as-root}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

script() {  # $1 arch, $2 log path
  cat <<ADV
data = synthetic(n: $BATCH * ($STEPS + 2), classes: 10, image: 32, channels: 1, seed: 0)
m = model("$1", params: 3e5, image: 32, channels: 1, classes: 10, parity: true)
r = recipe(epochs: 1, batch: $BATCH / ranks(), workers: ranks(), lr: 1e-3)
atk = pgd(eps: 4/255, step: 4/255, steps: 1)
fit(m, data, recipe: r, attack: atk, seed: 1, max_steps: 1, progress: false, clean_every: 0)
t = clock()
fit(m, data, recipe: r, attack: atk, seed: 2, max_steps: $STEPS, progress: false, clean_every: 0, log: "$2")
print("ips", $BATCH * $STEPS / (clock() - t), "bytes", params(m) * 4)
ADV
}

printf '| model | gradient bytes | 1 proc x 2 threads (img/s) | 2 procs x 1 thread (img/s) | allreduce per step (ms) |\n'
printf '|---|---:|---:|---:|---:|\n'
for arch in $MODELS; do
  script "$arch" "$dir/one.jsonl" > "$dir/one.adv"
  script "$arch" "$dir/two.jsonl" > "$dir/two.adv"
  one=$(ADV_PROGRESS=0 ADV_THREADS=2 "$ADV" "$dir/one.adv")
  two=$(ADV_PROGRESS=0 $MPIRUN -np 2 -x ADV_THREADS=1 -x ADV_PROGRESS=0 "$ADV" "$dir/two.adv")
  ms=$(grep '"allreduce_seconds"' "$dir/two.jsonl" | tail -n +2 | sed 's/.*"allreduce_seconds":\([0-9.e-]*\).*/\1/' \
       | awk '{ s += $1; n++ } END { if (n) printf "%.1f", 1000 * s / n; else printf "-" }')
  bytes=$(echo "$one" | awk '{ print $4 }')
  printf '| %s | %s | %.1f | %.1f | %s |\n' "$arch" "$bytes" "$(echo "$one" | awk '{ print $2 }')" \
    "$(echo "$two" | awk '{ print $2 }')" "$ms"
  rm -f "$dir/one.jsonl" "$dir/two.jsonl"
done

[ "$FULL" != 0 ] || exit 0
full() {  # $1 arch
  cat <<ADV
data = synthetic(n: $FULL_BATCH * ($FULL_STEPS + 2), classes: 1000, image: 224, channels: 3, seed: 0)
m = model("$1")
r = recipe(epochs: 1, batch: $FULL_BATCH, lr: 1e-3)
atk = pgd(eps: 4/255, step: 4/255, steps: 1)
fit(m, data, recipe: r, attack: atk, seed: 1, max_steps: 1, progress: false, clean_every: 0)
t = clock()
fit(m, data, recipe: r, attack: atk, seed: 2, max_steps: $FULL_STEPS, progress: false, clean_every: 0)
print("ips", $FULL_BATCH * $FULL_STEPS / (clock() - t), "params", params(m))
ADV
}
printf '\n| model at full size | parameters | gradient MB | 1 proc x 2 threads (img/s) |\n'
printf '|---|---:|---:|---:|\n'
for arch in $MODELS; do
  full "$arch" > "$dir/full.adv"
  out=$(ADV_PROGRESS=0 ADV_THREADS=2 "$ADV" "$dir/full.adv" 2>/dev/null)
  echo "$out" | awk -v a="$arch" '{ printf "| %s (full) | %d | %.1f | %.2f |\n", a, $4, 4 * $4 / 1e6, $2 }'
done
