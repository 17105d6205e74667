"""PyTorch side of the AutoAttack comparison in BENCHMARKS.md (issue 19).

1. `train`: trains a small timm ConvNeXt (convnext_atto's block, depths 1-1-1-1, dims 16-128, in_chans 1, 10 classes, inputs normalised by
   (x - 0.5) / 0.5 inside, as adv's model() does for one channel) on FashionMNIST padded to 32x32
   (adv: fashion_mnist(size: 32, resize: "pad")), and saves its timm-named weights as safetensors
   so adv loads the very same model (load_weights).
2. `attack`: AutoAttack standard on the first N test images with the same threads, timing each
   member: torchattacks 3.5.1's APGD (CE), APGDT, FAB (multi-targeted) and Square configured as the
   reference autoattack.py runs them (100 iterations, 9 targets, 5000 queries, unrescaled Square
   schedule), each run on the images still robust; then torchattacks' own AutoAttack class as
   shipped (its members default to 10 steps and the rescaled Square schedule) for reference.

Run: /opt/adv-ref/bin/python benchmarks/torch_autoattack.py train --out /tmp/aa-bench/convnext_atto_fmnist.safetensors
     /opt/adv-ref/bin/python benchmarks/torch_autoattack.py attack --weights ... --eps 0.0039 --n 1000 --threads 2
Needs torch 2.x, timm 1.0.x, torchattacks 3.5.1 (never a build or CI dependency of adv).
"""
import argparse
import gzip
import json
import os
import time

import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


# timm imports torchvision at import time, and PyPI's torchvision does not load with the local
# torch wheel; the ConvNeXt uses none of it. When it cannot be imported, the shared placeholder
# package in benchmarks/torchvision_stub (also used by users_view.py) stands in for it.
try:
    import torchvision  # noqa: F401
except Exception:
    for k in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
        del sys.modules[k]
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "torchvision_stub"))

import timm  # noqa: E402
import torchattacks  # noqa: E402
from safetensors.torch import load_file, save_file

ROOT = "/usr/share/datasets/fashion-mnist"


def fashion(split):
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(f"{ROOT}/{prefix}-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{ROOT}/{prefix}-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    x = np.pad(x.astype(np.float32) / 255, ((0, 0), (0, 0), (2, 2), (2, 2)))
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))


class Normalised(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net((x - 0.5) / 0.5)


def build():
    # convnext_atto's block (1x1-conv MLP) at depths (1, 1, 1, 1) and dims (16, 32, 64, 128): adv's
    # model("convnext_atto", depths: [1, 1, 1, 1], dims: [16, 32, 64, 128], image: 32, channels: 1, classes: 10)
    from timm.models.convnext import ConvNeXt
    return ConvNeXt(in_chans=1, num_classes=10, depths=(1, 1, 1, 1), dims=(16, 32, 64, 128), conv_mlp=True)


def train(args):
    torch.manual_seed(0)
    x, y = fashion("train")
    net = build()
    model = Normalised(net)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    model.train()
    g = torch.Generator().manual_seed(0)
    start = time.time()
    for step in range(args.steps):
        i = torch.randint(0, x.shape[0], (128,), generator=g)
        loss = F.cross_entropy(model(x[i]), y[i])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            print(f"step {step} loss {loss.item():.3f} ({time.time() - start:.0f} s)", flush=True)
    model.eval()
    xt, yt = fashion("test")
    with torch.no_grad():
        acc = (model(xt[:1000]).argmax(1) == yt[:1000]).float().mean().item()
    print(f"clean accuracy on the first 1000 test images: {acc * 100:.2f}%")
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, args.out)


def attack(args):
    torch.set_num_threads(args.threads)
    net = build()
    net.load_state_dict(load_file(args.weights))
    model = Normalised(net).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x, y = fashion("test")
    x, y = x[:args.n], y[:args.n]
    with torch.no_grad():
        robust = torch.cat([model(x[i:i + 250]).argmax(1) for i in range(0, args.n, 250)]) == y
    clean = robust.float().mean().item() * 100
    eps = args.eps
    members = [
        ("apgd-ce", lambda: torchattacks.APGD(model, norm="Linf", eps=eps, steps=100, n_restarts=1, loss="ce", seed=0)),
        ("apgd-t", lambda: torchattacks.APGDT(model, norm="Linf", eps=eps, steps=100, n_restarts=1, n_classes=10, seed=0)),
        ("fab-t", lambda: torchattacks.FAB(model, norm="Linf", eps=eps, steps=100, n_restarts=1, multi_targeted=True, n_classes=10, seed=0)),
        ("square", lambda: torchattacks.Square(model, norm="Linf", eps=eps, n_queries=5000, n_restarts=1, p_init=0.8,
                                               resc_schedule=False, seed=0)),
    ]
    out = {"threads": args.threads, "n": args.n, "eps": eps, "clean": clean, "members": []}
    total = time.time()
    for name, make in members:
        idx = robust.nonzero().flatten()
        t0 = time.time()
        if idx.numel() > 0:
            atk = make()
            for i in range(0, idx.numel(), 250):
                b = idx[i:i + 250]
                adv = atk(x[b], y[b])
                with torch.no_grad():
                    robust[b] = model(adv).argmax(1) == y[b]
        secs = time.time() - t0
        out["members"].append({"name": name, "seconds": secs, "robust_after": robust.float().mean().item() * 100})
        print(f"{name}: robust {robust.float().mean().item() * 100:.2f}% ({secs:.1f} s)", flush=True)
    out["seconds"] = time.time() - total
    out["robust"] = robust.float().mean().item() * 100
    if args.shipped:
        t0 = time.time()
        aa = torchattacks.AutoAttack(model, norm="Linf", eps=eps, version="standard", n_classes=10, seed=0)
        rob = []
        for i in range(0, args.n, 250):
            adv = aa(x[i:i + 250], y[i:i + 250])
            with torch.no_grad():
                rob.append(model(adv).argmax(1) == y[i:i + 250])
        out["shipped_autoattack"] = {"seconds": time.time() - t0, "robust": torch.cat(rob).float().mean().item() * 100}
        print(f"torchattacks.AutoAttack as shipped: {out['shipped_autoattack']}", flush=True)
    print(json.dumps(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--out", required=True)
    t.add_argument("--steps", type=int, default=400)
    a = sub.add_parser("attack")
    a.add_argument("--weights", required=True)
    a.add_argument("--eps", type=float, default=1 / 255)
    a.add_argument("--n", type=int, default=1000)
    a.add_argument("--threads", type=int, default=2)
    a.add_argument("--shipped", action="store_true")
    a.add_argument("--json", help="also write the result here")
    args = p.parse_args()
    train(args) if args.cmd == "train" else attack(args)


if __name__ == "__main__":
    main()
