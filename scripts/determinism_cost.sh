#!/usr/bin/env bash
# What thread-count-independent results cost (docs/architecture.md, "Determinism"): the same
# training workload on the commit before the change (ba897e0) and on a binary with it (the
# given one, default .build/release/adv), interleaved, at the default thread count and at 1.
# There is no switch for the fixed reduction order (it is how the kernels split their work), so
# the comparison builds the old commit once in a temporary worktree (several minutes).
#
#   scripts/determinism_cost.sh [NEW_ADV] [ROUNDS]      # run on an otherwise idle machine
#
# Workload: PGD-1 adversarial training at batch 128, 12 steps of each of the five models at
# 300K parameters with the parity grids (32x32, 1 channel, synthetic data), timed by the script per model with clock()
# and for the whole process with /usr/bin/time (wall, user + system CPU). Prints one line per
# run and the mean per binary and thread count; target: new / old - 1 under 3%.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
new=${1:-$repo/.build/release/adv}
rounds=${2:-3}
old_commit=ba897e0
work=${TMPDIR:-/tmp}/adv-determinism-cost
mkdir -p "$work"
if [ ! -x "$work/old/.build/release/adv" ]; then
  rm -rf "$work/old"
  git -C "$repo" worktree add --detach "$work/old" "$old_commit" >/dev/null
  (cd "$work/old" && swift build -c release --product adv 2>&1 | tail -3)
fi
old=$work/old/.build/release/adv
cat > "$work/workload.adv" <<'EOF'
# Only what both binaries know: no parity: (DeiT patch 4 and Swin window 4 given), plain recipes
# without augmentation (the old commit scaled the augmentation warmup differently).
seed(0)
data = synthetic(n: 2048, image: 32, channels: 1, classes: 10, seed: 0)
total = 0
for arch in ["convnext_tiny", "swin_tiny", "poolformer_s36", "deit_small", "resnet50_gelu"] {
  if arch == "deit_small" {
    m = model(arch, params: 3e5, image: 32, channels: 1, classes: 10, patch: 4)
  } else if arch == "swin_tiny" {
    m = model(arch, params: 3e5, image: 32, channels: 1, classes: 10, window: 4)
  } else {
    m = model(arch, params: 3e5, image: 32, channels: 1, classes: 10)
  }
  r = recipe(epochs: 1, batch: 128, optimizer: "adamw", lr: 1e-3, precision: "bf16")
  if arch == "resnet50_gelu" { r = recipe(epochs: 1, batch: 128, optimizer: "sgd", lr: 0.4, precision: "fp32") }
  t0 = clock()
  fit(m, data, recipe: r, attack: pgd(eps: 4/255, step: 4/255, steps: 1), seed: 1, max_steps: 12, progress: false)
  total = total + clock() - t0
}
print("train {format(total, digits: 2)} s")
EOF
run() { # binary label threads
  local out
  if [ "$3" = default ]; then
    out=$( { /usr/bin/time -f "%e %U %S" "$1" "$work/workload.adv" 2>&1 >/dev/null | tail -1; } 2>&1 )
  else
    out=$( { ADV_THREADS=$3 /usr/bin/time -f "%e %U %S" "$1" "$work/workload.adv" 2>&1 >/dev/null | tail -1; } 2>&1 )
  fi
  read -r wall user sys <<<"$out"
  cpu=$(echo "$user + $sys" | bc)
  echo "$2 threads=$3 wall $wall s cpu $cpu s"
  echo "$2 $3 $wall $cpu" >> "$work/results.txt"
}
rm -f "$work/results.txt"
for i in $(seq "$rounds"); do
  for t in default 1; do
    run "$old" old "$t"
    run "$new" new "$t"
  done
done
awk '{ w[$1" "$2] += $3; c[$1" "$2] += $4; n[$1" "$2]++ }
     END { for (t in n) if (substr(t, 1, 3) == "old") { s = substr(t, 5); o = t; m = "new " s;
             printf "threads=%s: wall old %.2f new %.2f (%+.1f%%), cpu old %.2f new %.2f (%+.1f%%)\n", s,
               w[o]/n[o], w[m]/n[m], (w[m]/w[o] - 1) * 100, c[o]/n[o], c[m]/n[m], (c[m]/c[o] - 1) * 100 } }' "$work/results.txt"
echo "(git -C $repo worktree remove --force $work/old removes the old build)"
