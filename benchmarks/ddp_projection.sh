#!/bin/sh
# Projection of the study's data-parallel setting (global batch 4096) on a cluster with a
# ring-allreduce model (docs/distributed.md): per step, each process computes 4096/N images at
# the per-process training throughput measured by `make bench-ddp` (its "(full)" rows: one
# process of this machine, 2 threads, each model at full size) and allreduces G bytes of fp32
# gradients in a ring: 2 (N-1)/N G / bandwidth + 2 (N-1) LAT. The step is counted as compute
# plus allreduce (no overlap: an upper bound; adv starts the buckets during the backward pass,
# which can hide the allreduce behind up to the backward's share of the compute). Prints the
# allreduce, compute and step times and the scaling efficiency (compute / step) for N = 8, 32,
# 128 at 10 and 100 Gb/s, and the per-process throughput above which the efficiency falls
# below 90% (what a faster node, e.g. a GPU, must stay under for the allreduce to stay cheap).
# Usage: sh benchmarks/ddp.sh > bench.txt; BENCH=bench.txt sh benchmarks/ddp_projection.sh
# (make bench-ddp does both). LAT overrides the hop latency (20 us).
set -eu
BENCH=${BENCH:?BENCH=file: the output of benchmarks/ddp.sh (make bench-ddp) with its (full) rows}
LAT=${LAT:-0.00002}  # seconds per ring hop (latency)
rows=$(grep '(full)' "$BENCH" | awk -F'|' '{ gsub(/ \(full\)| /, "", $2); gsub(/ /, "", $3); gsub(/ /, "", $5); print $2, $3, $5 }')
[ -n "$rows" ] || { echo "ddp_projection: no (full) rows in $BENCH (run benchmarks/ddp.sh with FULL=1)" >&2; exit 1; }
printf 'per-process throughput: measured here (%s), hop latency %s s, global batch 4096\n\n' "$BENCH" "$LAT"
printf '| model | img/s per process | gradient MB | N | Gb/s | allreduce (ms) | compute (ms) | step (ms) | efficiency | 90%% up to (img/s per process) |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
echo "$rows" | while read -r arch params ips; do
  for n in 8 32 128; do
    for gbps in 10 100; do
      awk -v a="$arch" -v p="$params" -v n="$n" -v g="$gbps" -v ips="$ips" -v lat="$LAT" 'BEGIN {
        bytes = 4 * p; bw = g * 1e9 / 8
        ar = 2 * (n - 1) / n * bytes / bw + 2 * (n - 1) * lat
        c = 4096 / n / ips
        printf "| %s | %.2f | %.1f | %d | %d | %.1f | %.0f | %.0f | %.2f%% | %.0f |\n", a, ips, bytes / 1e6, n, g, 1000 * ar, 1000 * c, 1000 * (c + ar), 100 * c / (c + ar), 4096 / (9 * n * ar)
      }'
    done
  done
done
