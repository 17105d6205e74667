#!/bin/sh
# Two builds compared on a loaded machine: base and new run AT THE SAME TIME, one thread each,
# so both see the same load; prints the CPU time (user+sys) and the RESULT line of each.
# Used for the Swin rows of BENCHMARKS.md (h-swin); on an idle machine use `make bench` instead.
# Usage: sh benchmarks/ab_pairs.sh BASE_BIN_DIR NEW_BIN_DIR   (each holding adv and AdvBench)
B=$1; N=$2
[ -x "$B/adv" ] && [ -x "$N/adv" ] || { echo "usage: $0 BASE_BIN_DIR NEW_BIN_DIR" >&2; exit 2; }
pair() {  # label, then the command with @ for the binary directory
  label=$1; shift
  echo "== $label load $(cut -d' ' -f1-3 /proc/loadavg)"
  for side in base new; do
    if [ $side = base ]; then D=$B; else D=$N; fi
    c=$(echo "$*" | sed "s|@|$D|g")
    ( /usr/bin/time -f "TIME %U user %S sys %e wall" sh -c "$c" 2>&1 | grep -E "RESULT|TIME" | sed "s|^|$side |" ) &
  done
  wait
}
pair "fit32 swin bf16 threads 1" "@/adv benchmarks/fit32.adv swin bf16 1"
pair "step224 swin_tiny bf16 eval:8 threads 1" "ADV_THREADS=1 ADV_BENCH_MODEL=swin_tiny ADV_BENCH_WORK=eval:8 ADV_BENCH_PRECISION=bf16 ADV_BENCH_REPS=1 @/AdvBench step224"
pair "step224 swin_tiny bf16 train:16 threads 1" "ADV_THREADS=1 ADV_BENCH_MODEL=swin_tiny ADV_BENCH_WORK=train:16 ADV_BENCH_PRECISION=bf16 ADV_BENCH_REPS=1 @/AdvBench step224"
pair "fit32 swin fp32 threads 1" "@/adv benchmarks/fit32.adv swin fp32 1"
