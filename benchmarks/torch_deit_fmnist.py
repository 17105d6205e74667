"""PyTorch/timm reference for the study's small DeiT on Fashion-MNIST (issue 17, README.md "The
converged study"): the same network adv builds with model("deit_small", params: 1.2e5, image: 32,
channels: 1, classes: 10, parity: true) as timm's VisionTransformer, trained as
benchmarks/deit_fmnist.adv trains it (AdamW, timm's weight-decay groups, per-step cosine as
adv's LRSchedule, label smoothing, no augmentation, no adversarial training), clean test accuracy
on all 10,000 test images after every epoch.

Run (never a build or CI dependency of adv; timm needs the torchvision stub beside this file):
  nice -n 19 /opt/adv-ref/bin/python benchmarks/torch_deit_fmnist.py [--dim 32 --heads 1 ...]
Options mirror the adv script's: --train 12000 --epochs 2 --batch 128 --lr 1e-3 --wd 0.05
--smoothing 0.1 --min-lr 1e-5 --threads 1 --seed 0, and --patch-init (timm|trunc02) to swap
the patch embedding's initialisation for adv's, --weights FILE to start from adv's saved
weights (safetensors with timm names) instead of a fresh timm init.

Data as adv's fashion_mnist(image: 32): Debian's IDX files, bytes / 255, resized 28 -> 32 with
Pillow's bilinear taps in float (Sources/Engine/Data/Transforms/Resample.swift, FloatResample),
clipped to [0, 1]; the model normalises with mean 0.5, std 0.5 as adv's model does for 1 channel.
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "torchvision_stub"))
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from timm.models.vision_transformer import VisionTransformer  # noqa: E402

ROOT = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def taps(in_size, out_size):
    """Pillow's precompute_coeffs for the bilinear filter as a dense (out, in) matrix."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale
    m = np.zeros((out_size, in_size), dtype=np.float64)
    for xx in range(out_size):
        center = (xx + 0.5) * scale
        xmin = max(int(center - support + 0.5), 0)
        xmax = min(int(center + support + 0.5), in_size)
        w = np.array([max(0.0, 1 - abs((x - center + 0.5) / filterscale)) for x in range(xmin, xmax)])
        if w.sum() != 0:
            w = w / w.sum()
        m[xx, xmin:xmax] = w
    return m


def load(split, size=32):
    prefix = "train" if split == "train" else "t10k"
    x = read_idx(f"{ROOT}/{prefix}-images-idx3-ubyte.gz").astype(np.float32) / 255
    y = read_idx(f"{ROOT}/{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    if size != x.shape[1]:
        t = taps(x.shape[1], size)
        tmp = np.einsum("nhw,ow->nho", x.astype(np.float64), t).astype(np.float32)   # horizontal pass
        x = np.einsum("nhw,oh->now", tmp.astype(np.float64), t).astype(np.float32)   # vertical pass
        x = np.clip(x, 0, 1)
    return torch.from_numpy(x[:, None].copy()), torch.from_numpy(y)


class Normalized(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net((x - 0.5) / 0.5)


def build(a):
    net = VisionTransformer(img_size=32, patch_size=a.patch, in_chans=1, num_classes=10, embed_dim=a.dim,
                            depth=a.depth, num_heads=a.heads, mlp_ratio=a.mlp_ratio, qkv_bias=True,
                            class_token=True, global_pool="token", drop_rate=0.0, drop_path_rate=0.0)
    if a.patch_init == "trunc02":
        nn.init.trunc_normal_(net.patch_embed.proj.weight, std=0.02, a=-2, b=2)
        nn.init.zeros_(net.patch_embed.proj.bias)
    if a.weights:
        from safetensors.torch import load_file
        net.load_state_dict(load_file(a.weights), strict=True)
    return Normalized(net)


def param_groups(net, wd):
    """timm.optim.param_groups_weight_decay: no decay on 1-D tensors, biases, no_weight_decay()."""
    skip = net.no_weight_decay()
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        if p.ndim <= 1 or name.endswith(".bias") or name in skip:
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": wd}]


def lr_at(i, total, base, min_lr):
    """adv's LRSchedule, cosine without warmup, per optimizer step."""
    return min_lr + 0.5 * (base - min_lr) * (1 + math.cos(math.pi * i / total))


@torch.no_grad()
def accuracy(model, x, y, batch=500):
    model.eval()
    right = 0
    for i in range(0, len(x), batch):
        right += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return 100.0 * right / len(x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dim", type=int, default=28)
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--heads", type=int, default=1)
    p.add_argument("--mlp-ratio", type=float, default=4.0)
    p.add_argument("--patch", type=int, default=4)
    p.add_argument("--train", type=int, default=12000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-5)
    p.add_argument("--wd", type=float, default=0.05)
    p.add_argument("--smoothing", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--patch-init", choices=["timm", "trunc02"], default="timm")
    p.add_argument("--weights", default="")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load("train")
    xte, yte = load("test")
    xtr, ytr = xtr[:a.train], ytr[:a.train]
    model = build(a)
    n_params = sum(q.numel() for q in model.parameters())
    print(f"timm VisionTransformer dim {a.dim} depth {a.depth} heads {a.heads} mlp {a.mlp_ratio} patch {a.patch}: "
          f"{n_params} parameters; patch init {a.patch_init}{', weights ' + a.weights if a.weights else ''}", flush=True)
    opt = torch.optim.AdamW(param_groups(model.net, a.wd), lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    steps = len(xtr) // a.batch                      # adv drops the last partial batch
    total = steps * a.epochs
    g = torch.Generator().manual_seed(a.seed)
    t0, c0 = time.time(), time.process_time()
    print(f"epoch 0: test {accuracy(model, xte, yte):.2f}%", flush=True)
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(len(xtr), generator=g)
        loss_sum = 0.0
        for s in range(steps):
            for group in opt.param_groups:
                group["lr"] = lr_at(epoch * steps + s, total, a.lr, a.min_lr)
            idx = order[s * a.batch:(s + 1) * a.batch]
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx], label_smoothing=a.smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
        acc = accuracy(model, xte, yte)
        print(f"epoch {epoch + 1}: loss {loss_sum / steps:.4f}, test {acc:.2f}% "
              f"(wall {time.time() - t0:.1f} s, cpu {time.process_time() - c0:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
