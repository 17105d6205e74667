"""PyTorch side of the users'-view benchmark (benchmarks/users_view.py, `make bench`).

fit32 MODEL: a training loop like `fit` at 32x32x3, 10 classes, batch 64: per batch PGD-1 (eps 4/255,
  step 4/255, random start; model in eval mode), then forward/backward in train mode with label
  smoothing 0.1 and an AdamW step (timm's no-decay groups). The data are random tensors in memory,
  shuffled per epoch. Like benchmarks/fit32.adv: a warm-up loop over 128 images, then loops over
  256 and 768 images; reports both loop times and the fastest single step.
  MODEL: convnext_atto | swin | poolformer_s12 | deit_tiny | resnet50_gelu (configs of torch_train_step.py).
step224 MODEL: full-size timm models at 224x224x3, 1000 classes, fresh weights; the workloads of
  --work (e.g. eval:8,train:16,eval:32), each run --reps times (the best time is reported):
  eval = PGD-5 (eps 4/255, step 1/255, no random start) then the scoring forward (no grad);
  train = one PGD-1 adversarial training step as above.
  MODEL: convnext_tiny | swin_tiny | poolformer_s36 | deit_small | resnet50_gelu.
--bf16 runs every forward pass under torch.autocast("cpu", dtype=torch.bfloat16).
Prints `RESULT {json}` lines (with the process's peak RSS) for the driver.

Run: /opt/adv-ref/bin/python benchmarks/torch_users.py fit32 convnext_atto [--bf16] [--threads 2]
Needs torch 2.x and timm 1.0.x (never a build or CI dependency of adv).
"""
import argparse
import contextlib
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
import timm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_train_step  # noqa: E402  (its five 32x32 models and its PGD-1 training step)

AMP = contextlib.nullcontext

FIT32 = {"convnext_atto": "convnext_atto", "swin": "swin_tiny", "poolformer_s12": "poolformer_s12",
         "deit_tiny": "deit_tiny", "resnet50_gelu": "resnet50_gelu"}

MODELS224 = {
    "convnext_tiny": lambda: timm.create_model("convnext_tiny"),
    "swin_tiny": lambda: timm.create_model("swin_tiny_patch4_window7_224"),
    "poolformer_s36": lambda: timm.create_model("poolformer_s36"),
    "deit_small": lambda: timm.create_model("deit_small_patch16_224"),
    "resnet50_gelu": lambda: timm.create_model("resnet50", act_layer="gelu"),
}


def frozen(model, flag):
    for p in model.parameters():
        p.requires_grad_(flag)


def pgd(model, x, y, eps, step, steps, random_start):
    """torchattacks-style L-inf PGD with the model in eval mode and its parameters frozen."""
    model.eval()
    frozen(model, False)
    xa = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1) if random_start else x.clone()
    for _ in range(steps):
        xa.requires_grad_(True)
        with AMP():
            loss = F.cross_entropy(model(xa), y)
        g, = torch.autograd.grad(loss, xa)
        xa = torch.min(torch.max(xa.detach() + step * g.sign(), x - eps), x + eps).clamp(0, 1)
    frozen(model, True)
    return xa


def optimizer(model):
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    return torch.optim.AdamW([{"params": no_decay, "weight_decay": 0.0},
                              {"params": decay, "weight_decay": 0.05}], lr=1e-3)


def train_step(model, opt, x, y):
    """torch_train_step.py's step: PGD-1 (eps 4/255, random start) in eval mode, then forward,
    label-smoothed cross entropy, backward and the optimizer step in train mode."""
    torch_train_step.AMP = AMP
    torch_train_step.step(model, opt, x, y)


def eval_pgd5(model, x, y):
    xa = pgd(model, x, y, 4 / 255, 1 / 255, 5, False)
    with torch.no_grad(), AMP():
        return (model(xa).argmax(1) == y).sum().item()


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def emit(d):
    d["peak_rss"] = peak_rss()
    print("RESULT " + json.dumps(d, sort_keys=True), flush=True)


def fit32(a):
    make = dict((k.split()[0], v) for k, v in torch_train_step.models())
    model = make[FIT32[a.model]]()
    opt = optimizer(model)
    gen = torch.Generator().manual_seed(0)
    steps = []

    def loop(n):
        x = torch.rand(n, 3, 32, 32, generator=gen)
        y = torch.randint(0, 10, (n,), generator=gen)
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=gen)
        for i in range(0, n - 63, 64):
            s0 = time.perf_counter()
            idx = perm[i:i + 64]
            train_step(model, opt, x[idx], y[idx])
            steps.append(time.perf_counter() - s0)
        return time.perf_counter() - t0

    loop(128)
    t256 = loop(256)
    t768 = loop(768)
    emit({"kind": "fit32", "model": a.model, "precision": "bf16" if a.bf16 else "fp32",
          "t256": t256, "t768": t768, "best_step": min(steps[2:])})


def step224(a):
    model = MODELS224[a.model]()
    opt = optimizer(model)
    gen = torch.Generator().manual_seed(0)
    for work in a.work.split(","):
        kind, batch = work.split(":")
        batch = int(batch)
        x = torch.rand(batch, 3, 224, 224, generator=gen)
        y = torch.arange(batch) * 37 % 1000
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            if kind == "eval":
                eval_pgd5(model, x, y)
            else:
                train_step(model, opt, x, y)
            times.append(time.perf_counter() - t0)
        print(f"{a.model} {kind} batch {batch}: best {min(times):.3f} s of {', '.join(f'{t:.3f}' for t in times)}", flush=True)
        emit({"kind": kind, "model": a.model, "batch": batch, "precision": "bf16" if a.bf16 else "fp32",
              "seconds": min(times), "times": times})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["fit32", "step224"])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--work", default="eval:8,train:16,eval:32")
    ap.add_argument("--reps", type=int, default=2)
    a = ap.parse_args()
    global AMP
    if a.bf16:
        AMP = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, timm {timm.__version__}, threads {torch.get_num_threads()}", flush=True)
    fit32(a) if a.mode == "fit32" else step224(a)


if __name__ == "__main__":
    main()
