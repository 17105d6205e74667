#!/usr/bin/env python3
"""Where the time of a users'-view row goes: one `perf record` per row, samples grouped by kind.

The users' view (benchmarks/users_view.py, BENCHMARKS.md) says for every row that misses its
target what limits it; this script is the measurement behind those statements. For each row it
runs the same command the benchmark runs under `perf record -F 499` (flat: call graphs would only
slow the report), reads the flat profile
(`perf report --no-children --sort symbol`) and sums the samples per kind of work: products (fp32
through OpenBLAS, bf16 through our AVX512-BF16 kernel, small fp32 tiles, which include
attention's products), layer and group norms, activations, softmax, layout copies and bf16
rounding, depthwise convolutions and pooling, the optimizer, the thread pool's waiting, page
faults, and the model's set-up (weight initialisation: not part of the step, left out of the
shares). Shares are of the step's samples (total minus set-up).

Rows:
  224: `AdvBench step224` with ADV_BENCH_MODEL / ADV_BENCH_WORK / ADV_BENCH_PRECISION, reps 1
       (the step's samples; set-up is subtracted);
  fit32: `adv benchmarks/fit32.adv MODEL PRECISION THREADS` (its warm-up fit is included).

Usage:
  python3 benchmarks/profile_rows.py --rows "convnext_tiny:eval:8:bf16,resnet50_gelu:train:16:fp32"
  python3 benchmarks/profile_rows.py --rows "fit32:swin:bf16"
Prints one Markdown table; needs `perf` (Debian linux-perf) and release builds in .build/release.
Profile shares do not depend much on load, but the thread pool's waiting grows on a busy machine.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Kind of work -> symbol patterns (first match wins; order matters: specific before general).
KINDS = [
    ("set-up", r"fillNormal|__sin|__cos|truncatedNormal|initWeights|Factory"),
    ("bf16 products", r"gemm_bf16|bf16_pack|pack_bf16|sbgemm|dpbf16|store_mapped"),
    ("fp32 products (OpenBLAS)", r"^sgemm|^SGEMM|gemm_kernel|gemm_[io][nt]copy|gemm_beta|blas_thread"),
    ("small fp32 products (incl. attention)", r"run_tiles|smallgemm|small_gemm|adv_gemm_small"),
    ("softmax", r"softmax"),
    ("layer/group/batch norm", r"adv_gn_|adv_bn_|layernorm|layer_norm|groupnorm|group_norm|batchnorm|batch_norm|bnact|bn_act|normRows|LayerNorm|layerNorm|groupNorm|batchNorm"),
    ("activations (GELU)", r"gelu"),
    ("bf16 rounding copies", r"round_bf16|to_bf16|from_bf16"),
    ("layout copies (im2col, transposes, packs, windows)", r"im2col|col2im|transpose|pack_images|unpack_images|window|memmove|memcpy|permute|gather|fillRows"),
    ("depthwise conv, pooling", r"depthwise|small_planes|^plane$|weight_grad_planes|small_weight_grad|pool2d|avgpool|avg_pool|maxpool|max_pool|poolmix|pooling"),
    ("optimizer", r"adamw|AdamW|optim"),
    ("thread pool waiting", r"worker_main|adv_pool_run|sched_yield|finish_task_switch|schedule|futex|__pthread|pick_next|do_syscall|entry_SYSCALL|syscall_exit|_raw_spin"),
    ("page faults", r"page_fault|clear_page|mem_cgroup|__alloc_|__list_del|do_anonymous_page|alloc_pages|get_page_from_freelist|handle_mm_fault|memcg|rmqueue|mas_walk|lru|folio"),
    ("elementwise and other engine code", r"^\$s|scale_residual|layerscale|memset|malloc|_int_free|unlink_chunk|swift_"),
]
STEP_KINDS = [name for name, _ in KINDS if name != "set-up"] + ["other"]


def classify(symbol):
    for name, pattern in KINDS:
        if re.search(pattern, symbol):
            return name
    return "other"


def command_for(row, threads):
    """(description, argv, extra environment) of one row spec."""
    parts = row.split(":")
    if not ((parts[0] == "fit32" and len(parts) == 3) or (len(parts) == 4 and parts[1] in ("eval", "train") and parts[2].isdigit())):
        sys.exit(f"profile_rows.py: --rows: '{row}' is neither MODEL:eval|train:BATCH:PRECISION nor fit32:MODEL:PRECISION")
    if parts[0] == "fit32":
        _, model, precision = parts
        argv = [str(ROOT / ".build/release/adv"), str(ROOT / "benchmarks/fit32.adv"), model, precision, str(threads)]
        return f"{model}, fit 32x32, {precision}", argv, {}
    model, kind, batch, precision = parts
    env = {"ADV_BENCH_MODEL": model, "ADV_BENCH_WORK": f"{kind}:{batch}", "ADV_BENCH_PRECISION": precision,
           "ADV_BENCH_REPS": "1", "ADV_THREADS": str(threads)}
    workload = "PGD-5 eval" if kind == "eval" else "PGD-1 train step"
    return f"{model}, 224 {workload} b{batch}, {precision}", [str(ROOT / ".build/release/AdvBench"), "step224"], env


def profile(argv, env, workdir):
    data = os.path.join(workdir, "perf.data")
    with open(os.path.join(workdir, "out.txt"), "w") as out:
        subprocess.run(["perf", "record", "-F", "499", "-o", data, "--"] + argv,
                       env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, check=True)
    report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "symbol", "--stdio",
                             "-g", "none", "--percent-limit", "0"], capture_output=True, text=True, check=True).stdout
    shares = {}
    for line in report.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\[[.k]\]\s+(\S+)", line)
        if m:
            kind = classify(m.group(2))
            shares[kind] = shares.get(kind, 0.0) + float(m.group(1))
    return shares


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", required=True, help="comma-separated MODEL:eval|train:BATCH:PRECISION or fit32:MODEL:PRECISION")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if subprocess.run(["which", "perf"], capture_output=True).returncode != 0:
        sys.exit("profile_rows.py: needs `perf` (Debian package linux-perf)")
    results = []
    for row in args.rows.split(","):
        name, argv, env = command_for(row.strip(), args.threads)
        print(f"profiling {name} ...", file=sys.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            try:
                shares = profile(argv, env, tmp)
            except subprocess.CalledProcessError as e:
                with open(os.path.join(tmp, "out.txt"), errors="replace") as f:
                    tail = "".join(f.readlines()[-5:])
                sys.exit(f"profile_rows.py: {name}: `{' '.join(e.cmd)}` failed (exit {e.returncode}); its last lines:\n{tail}")
        step = 100.0 - shares.get("set-up", 0.0)
        results.append((name, {k: 100.0 * shares.get(k, 0.0) / step for k in STEP_KINDS}, shares.get("set-up", 0.0)))
    kinds = [k for k in STEP_KINDS if any(r[1][k] >= 0.5 for r in results)]
    print("| row | " + " | ".join(kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for name, shares, _ in results:
        print(f"| {name} | " + " | ".join(f"{shares[k]:.1f}%" for k in kinds) + " |")


if __name__ == "__main__":
    main()
