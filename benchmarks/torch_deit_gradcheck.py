"""timm side of the DeiT gradient check (issue 17; benchmarks/deit_gradcheck.adv writes its inputs):
loads adv's initial weights into timm's VisionTransformer, compares the data, the logits and every
parameter's gradient (adv's w0 - w1 after one SGD step at lr 1) with timm's. Run from the repository root."""
import sys, os
sys.path.insert(0, "benchmarks"); sys.path.insert(0, "benchmarks/torchvision_stub")
import torch, torch.nn.functional as F
from safetensors.torch import load_file
import torch_deit_fmnist as T
torch.set_num_threads(1)
class A: pass
a = A(); a.patch=4; a.dim=28; a.depth=12; a.heads=1; a.mlp_ratio=4.0; a.patch_init="timm"; a.weights="/tmp/hdeit/gc_init.safetensors"
model = T.build(a)
io = load_file("/tmp/hdeit/gc_io.safetensors")
xtr, ytr = T.load("train")
x = xtr[:64]; y = ytr[:64]
print("data max diff vs adv", (x - io["x"]).abs().max().item())
model.eval()
with torch.no_grad():
    lg = model(io["x"])
print("logits max diff", (lg - io["logits"]).abs().max().item(), "scale", lg.abs().max().item())
model.train()
loss = F.cross_entropy(model(io["x"]), y)
print("loss torch", loss.item())
loss.backward()
w0 = load_file("/tmp/hdeit/gc_init.safetensors"); w1 = load_file("/tmp/hdeit/gc_step.safetensors")
worst = []
for n, p in model.net.named_parameters():
    ga = w0[n] - w1[n]
    gt = p.grad
    rel = (ga - gt).norm().item() / (gt.norm().item() + 1e-20)
    worst.append((rel, n, gt.norm().item(), ga.norm().item()))
worst.sort(reverse=True)
for w in worst[:12]: print("%.3e %-28s torch %.3e adv %.3e" % w)
