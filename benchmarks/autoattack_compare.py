"""AutoAttack standard, adv against torchattacks on the same model, images and threads (issue 19,
BENCHMARKS.md "AutoAttack standard vs torchattacks"). `make bench-autoattack` runs it.

1. Trains the small ConvNeXt once in PyTorch (benchmarks/torch_autoattack.py train) unless its
   weights exist, and saves them timm-named as safetensors; adv loads the same file.
2. Runs the PyTorch side (torchattacks 3.5.1's members configured as the reference autoattack.py
   runs them, each on the images still robust) and the adv side (benchmarks/autoattack.adv:
   `benchmark()`), one after the other, each as a child process, measuring wall time and the
   child's CPU time (user + sys, from wait4).
3. Checks that both sides saw the same clean accuracy (the same weights give the same
   predictions) and prints a Markdown table: seconds and robust accuracy after each member, totals.

Run: /opt/adv-ref/bin/python benchmarks/autoattack_compare.py [--adv .build/release/adv] [--n 1000]
     [--eps 8] [--threads 2] [--dir /tmp/aa-bench] [--order torch,adv] [--reuse torch|adv]
Never a build or CI dependency of adv (needs torch, timm, torchattacks 3.5.1, safetensors).
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# torchattacks' member names -> the names adv (and the reference autoattack.py) print
NAMES = {"apgd-ce": "APGD-CE", "apgd-t": "APGD-T", "fab-t": "FAB-T", "square": "Square"}


def timed(cmd, env=None):
    """Runs cmd; returns (wall seconds, child CPU seconds user+sys). Output passes through."""
    print("$ " + " ".join(cmd), flush=True)
    t0 = time.time()
    p = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.time() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"autoattack_compare: {cmd[0]} exited with status {p.returncode}")
    return wall, usage.ru_utime + usage.ru_stime


def run_torch(args, weights, out):
    cmd = [sys.executable, os.path.join(HERE, "torch_autoattack.py"), "attack", "--weights", weights,
           "--eps", repr(args.eps / 255), "--n", str(args.n), "--threads", str(args.threads), "--json", out]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    wall, cpu = timed(cmd, env)
    with open(out) as f:
        r = json.load(f)
    members = [(NAMES[m["name"]], m["seconds"], m["robust_after"]) for m in r["members"]]
    return {"wall": wall, "cpu": cpu, "clean": r["clean"], "robust": r["robust"], "attack_seconds": r["seconds"],
            "members": members}


def run_adv(args, weights, out):
    cmd = [args.adv, os.path.join(HERE, "autoattack.adv"), weights, str(args.eps), str(args.n), out, str(args.threads)]
    env = dict(os.environ, ADV_THREADS=str(args.threads))
    wall, cpu = timed(cmd, env)
    with open(out) as f:
        r = json.load(f)
    a = r["adv"]
    members = [(NAMES.get(m.lower(), m), a["seconds_per_attack"][m], float(a["robust_accuracy_after"][m]))
               for m in a["attacks_to_run"]]
    return {"wall": wall, "cpu": cpu, "clean": float(r["clean_acc"]), "robust": float(r["autoattack_acc"]),
            "attack_seconds": a["seconds"], "members": members}


def table(args, t, a):
    lines = [f"AutoAttack standard, L-inf eps {args.eps:g}/255, first {args.n} FashionMNIST test images (32x32), "
             f"{args.threads} threads each",
             "",
             "| | torchattacks 3.5.1 (s) | adv (s) | torch / adv | robust after, torch | robust after, adv |",
             "|---|---:|---:|---:|---:|---:|"]
    tm = {m[0]: m for m in t["members"]}
    for name, secs, rob in a["members"]:
        ts, tr = (tm[name][1], tm[name][2]) if name in tm else (float("nan"), float("nan"))
        ratio = ts / secs if secs > 0 else float("nan")
        lines.append(f"| {name} | {ts:.1f} | {secs:.1f} | {ratio:.2f}x | {tr:.2f}% | {rob:.2f}% |")
    lines.append(f"| all four (attack time) | {t['attack_seconds']:.1f} | {a['attack_seconds']:.1f} | "
                 f"{t['attack_seconds'] / a['attack_seconds']:.2f}x | {t['robust']:.2f}% | {a['robust']:.2f}% |")
    lines.append(f"| process wall time | {t['wall']:.1f} | {a['wall']:.1f} | {t['wall'] / a['wall']:.2f}x | | |")
    lines.append(f"| process CPU time (user+sys) | {t['cpu']:.1f} | {a['cpu']:.1f} | {t['cpu'] / a['cpu']:.2f}x | | |")
    lines.append("")
    lines.append(f"clean accuracy: torch {t['clean']:.2f}%, adv {a['clean']:.2f}%")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--adv", default=os.path.join(HERE, "..", ".build", "release", "adv"))
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--eps", type=float, default=8, help="L-inf radius in 1/255 units")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dir", default="/tmp/aa-bench")
    p.add_argument("--order", default="torch,adv", help="which side runs first")
    p.add_argument("--reuse", default="", help="sides (torch, adv or torch,adv) not to run again: their last results in --dir are used")
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    weights = os.path.join(args.dir, "convnext_atto_fmnist.safetensors")
    if not os.path.exists(weights):
        timed([sys.executable, os.path.join(HERE, "torch_autoattack.py"), "train", "--out", weights])
    results = {}
    for side in args.order.split(","):
        out = os.path.join(args.dir, f"{side}_result.json")
        run = os.path.join(args.dir, f"{side}_run.json")   # this side's summary, with its settings
        settings = {"n": args.n, "eps": args.eps, "threads": args.threads}
        if side in args.reuse.split(","):
            with open(run) as f:
                results[side] = json.load(f)
            if results[side].get("settings") != settings:
                sys.exit(f"autoattack_compare: the saved {side} run had settings {results[side].get('settings')}, not {settings}")
            continue
        results[side] = run_torch(args, weights, out) if side == "torch" else run_adv(args, weights, out)
        results[side]["settings"] = settings
        with open(run, "w") as f:
            json.dump(results[side], f, indent=1)
    if len(results) < 2:
        print(json.dumps(results, indent=1))
        return
    t, a = results["torch"], results["adv"]
    text = table(args, t, a)
    print("\n" + text)
    with open(os.path.join(args.dir, "comparison.md"), "w") as f:
        f.write(text + "\n")
    # same weights, same images: the clean predictions agree (at most one image may flip on a
    # logit tie within float rounding between the two libraries' kernels)
    if abs(t["clean"] - a["clean"]) > 100.0 / args.n + 1e-9:
        sys.exit(f"autoattack_compare: clean accuracy differs (torch {t['clean']:.2f}%, adv {a['clean']:.2f}%): "
                 "the two sides do not run the same model")


if __name__ == "__main__":
    main()
