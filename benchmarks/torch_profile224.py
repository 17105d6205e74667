"""PyTorch's side of a users'-view row's limit statement: torch.profiler over one 224x224 step.

eval: one PGD step as the attack runs it (weights frozen, eval mode, forward + input gradient);
train: one training step (train mode, forward, backward, AdamW). Batch B, fp32 or bf16 autocast,
2 threads; prints the ops by self CPU time (two profiled steps after one warm-up step).

Run: /opt/adv-ref/bin/python benchmarks/torch_profile224.py MODEL fp32|bf16 BATCH eval|train
  MODEL: a model of torch_users.py's MODELS224 (e.g. resnet50_gelu).
Needs torch 2.x and timm 1.0.x (never a build or CI dependency of adv).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "torchvision_stub"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.profiler import profile, ProfilerActivity  # noqa: E402
import torch_users  # noqa: E402


def main():
    name, prec, batch, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    torch.set_num_threads(2)
    torch.manual_seed(0)
    m = torch_users.MODELS224[name]()
    x = torch.rand(batch, 3, 224, 224)
    y = torch.randint(0, 1000, (batch,))
    opt = torch.optim.AdamW(m.parameters())

    def amp():
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16")

    def step():
        if mode == "eval":
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)
            xa = x.clone().requires_grad_(True)
            with amp():
                loss = F.cross_entropy(m(xa), y)
            loss.backward()
        else:
            m.train()
            for p in m.parameters():
                p.requires_grad_(True)
            with amp():
                loss = F.cross_entropy(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    step()
    with profile(activities=[ProfilerActivity.CPU]) as p:
        step()
        step()
    print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))


if __name__ == "__main__":
    main()
