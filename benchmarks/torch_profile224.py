"""Where PyTorch spends a 224 workload of the users' view (benchmarks/torch_users.py's step224), by op:
torch.profiler over one run after a warm-up run, self CPU time per op, top rows. For the limits
notes beside adv's `perf record` of `AdvBench step224` (BENCHMARKS.md, "Users' view").

Run: /opt/adv-ref/bin/python benchmarks/torch_profile224.py convnext_tiny eval:8 [--bf16] [--threads 2] [--rows 25]
(if timm cannot import torchvision: PYTHONPATH=benchmarks/torchvision_stub). Never a build or CI dependency.
"""
import argparse
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_users  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("work", help="eval:BATCH or train:BATCH")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=25)
    a = ap.parse_args()
    if a.bf16:
        torch_users.AMP = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    kind, batch = a.work.split(":")
    batch = int(batch)
    model = torch_users.MODELS224[a.model]()
    opt = torch_users.optimizer(model)
    x = torch.rand(batch, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    y = torch.arange(batch) * 37 % 1000
    run = (lambda: torch_users.eval_pgd5(model, x, y)) if kind == "eval" else (lambda: torch_users.train_step(model, opt, x, y))
    run()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=a.rows))


if __name__ == "__main__":
    main()
