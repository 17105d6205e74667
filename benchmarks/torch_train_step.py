"""PyTorch reference for `AdvBench train`: one full PGD-1 adversarial training step
(attack with the model in eval mode, forward/backward in train mode, AdamW step) at batch 64 on
the five benchmark models at 32x32x3, 10 classes, fp32, on the CPU with the same thread count.

Run: /tmp/advref/bin/python benchmarks/torch_train_step.py [--threads N] [--budget SECONDS] [--only deit,swin] [--bf16]
--bf16 runs both forward passes under torch.autocast("cpu", dtype=torch.bfloat16), PyTorch's
mixed precision (the reference for ADV_BENCH_PRECISION=bf16 AdvBench train).
Needs torch 2.x and timm 1.0.x (never a build or CI dependency of adv).
Reports the best step time over repeats (one warm-up), like AdvBench.
"""
import argparse
import contextlib
import time

import torch
import torch.nn.functional as F
import timm


def models():
    kw = dict(num_classes=10, img_size=32)
    return [
        ("convnext_atto", lambda: timm.create_model("convnext_atto", num_classes=10)),
        ("swin_tiny p2 w4 dims64 heads(2,4,8,16)", lambda: timm.create_model(
            "swin_tiny_patch4_window7_224", patch_size=2, window_size=4, embed_dim=64,
            num_heads=(2, 4, 8, 16), **kw)),
        ("poolformer_s12", lambda: timm.create_model("poolformer_s12", num_classes=10)),
        ("deit_tiny p4", lambda: timm.create_model("deit_tiny_patch16_224", patch_size=4, **kw)),
        ("resnet50_gelu", lambda: timm.create_model("resnet50", num_classes=10, act_layer="gelu")),
    ]


AMP = contextlib.nullcontext


def pgd1(model, x, y, eps=4 / 255, step=4 / 255):
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    delta = torch.empty_like(x).uniform_(-eps, eps)
    xa = (x + delta).clamp(0, 1).requires_grad_(True)
    with AMP():
        loss = F.cross_entropy(model(xa), y)
    g, = torch.autograd.grad(loss, xa)
    xa = torch.min(torch.max(xa.detach() + step * g.sign(), x - eps), x + eps).clamp(0, 1)
    for p in model.parameters():
        p.requires_grad_(True)
    return xa


def step(model, opt, x, y):
    xa = pgd1(model, x, y)
    model.train()
    with AMP():
        loss = F.cross_entropy(model(xa), y, label_smoothing=0.1)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def timed(fn, budget):
    fn()
    best, runs, start = float("inf"), 0, time.perf_counter()
    while runs < 2 or (time.perf_counter() - start < budget and runs < 50):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        runs += 1
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--budget", type=float, default=3.0)
    ap.add_argument("--only", default="", help="comma-separated words: keep the models whose name contains one")
    ap.add_argument("--bf16", action="store_true", help="autocast the forward passes to bf16")
    a = ap.parse_args()
    global AMP
    if a.bf16:
        AMP = lambda: torch.autocast("cpu", dtype=torch.bfloat16)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, timm {timm.__version__}, threads {torch.get_num_threads()}, {'bf16 autocast' if a.bf16 else 'fp32'}")
    print("| model | params | step (s) | images/s |")
    print("|---|---|---|---|")
    words = [w for w in a.only.split(",") if w]
    for name, make in models():
        if words and not any(w in name for w in words):
            continue
        m = make()
        # timm's param_groups_weight_decay: no decay on 1-D parameters
        decay = [p for p in m.parameters() if p.ndim > 1]
        no_decay = [p for p in m.parameters() if p.ndim <= 1]
        opt = torch.optim.AdamW([{"params": no_decay, "weight_decay": 0.0},
                                 {"params": decay, "weight_decay": 0.05}], lr=1e-3)
        x = torch.rand(64, 3, 32, 32)
        y = torch.arange(64) % 10
        t = timed(lambda: step(m, opt, x, y), a.budget)
        n = sum(p.numel() for p in m.parameters())
        print(f"| {name} | {n / 1e6:.2f}M | {t:.3f} | {64 / t:.1f} |")


if __name__ == "__main__":
    main()
