#!/usr/bin/env python3
"""The users'-view benchmark (`make bench`): adv against PyTorch where users run them.

Sections (BENCH="fit32 eval224 ..." or --sections; default all; `peaks` always runs first):
  fit32     `fit` as a whole at 32x32 (benchmarks/fit32.adv) on the five benchmark models, fp32 and
            bf16, against the same loop in PyTorch (benchmarks/torch_users.py fit32; fp32 and bf16
            autocast): images/s = (768 - 256) / (t768 - t256), so fixed costs cancel; processes
            interleaved adv, PyTorch, adv, ...; best of --reps processes per row.
  eval224   PGD-5 evaluation (eps 4/255, step 1/255, no random start, plus the scoring forward) at
            batch 8 and 32 on the full-size models at 224x224, 1000 classes, fp32 and bf16.
  train224  one PGD-1 adversarial training step (AdamW) at batch 16, same models (runs in the
            same processes as eval224: one process per model, precision and side).
  mem224    peak RSS of one process doing the 224 training step at batch 32 (fp32), per model.
  bf16acc   robust accuracy of a trained model over 1,000 images at fp32 and bf16
            (benchmarks/bf16_eval.adv; trains and caches the model on first use).
  clean     what fit's default clean training accuracy (clean_every: 16) costs, per fit32 model
            and precision (benchmarks/clean_cost.adv: one epoch with clean_every 0 and 1,
            interleaved, best of --reps; the default's share is (t1 - t0) / (16 t0)). adv only.
The efficiency table (achieved GFLOP/s over the measured fp32 and bf16 product peaks) is derived
from fit32, eval224 and train224. Every table is printed as Markdown ready for BENCHMARKS.md, with
the date, load and machine, and also written to .build/bench/users-view-DATE.md.

FLOPs per image: 2 x the model's multiply-adds (flops(m)) per forward; a backward to the input
counts as one forward, a training backward (input and weight gradients) as two. So PGD-5
evaluation = (5 x 2 + 1) forwards, a PGD-1 training step = 2 + 3 forwards.

Needs only python3 for the driver; the PyTorch side runs with --python (default /opt/adv-ref/bin/python,
torch 2.x + timm 1.0.x); when that is missing the PyTorch columns say so.
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SECTIONS = ["fit32", "eval224", "train224", "mem224", "bf16acc", "clean"]
FIT32_MODELS = [("convnext_atto", "convnext_atto"), ("swin", "swin_tiny p2 w4 dims64 heads(2,4,8,16)"),
                ("poolformer_s12", "poolformer_s12"), ("deit_tiny", "deit_tiny p4"), ("resnet50_gelu", "resnet50_gelu")]
MODELS224 = ["convnext_tiny", "swin_tiny", "poolformer_s36", "deit_small", "resnet50_gelu"]
FWD_EVAL, FWD_TRAIN = 11, 5  # forwards' worth of FLOPs per image (see above)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def run(cmd, env=None, timeout=3600):
    """Runs one benchmark process; returns its RESULT records (empty on failure, which is logged)."""
    e = dict(os.environ)
    e.update(env or {})
    t0 = time.time()
    try:
        p = subprocess.run(cmd, env=e, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        log(f"  FAILED {' '.join(cmd)}: {err}")
        return []
    out = [json.loads(l[7:]) for l in p.stdout.splitlines() if l.startswith("RESULT ")]
    if p.returncode != 0 or not out:
        log(f"  FAILED ({p.returncode}) {' '.join(cmd)}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    else:
        log(f"  {time.time() - t0:6.1f} s  {' '.join(os.path.basename(c) if i < 2 else c for i, c in enumerate(cmd))}")
    return out


NEAR_NS = 150  # round trips below this: the two vCPUs share an L3 ("near"); docs/architecture.md


def is_near(r):
    """True / False for a run measured near / far, None when its round trip was not measured."""
    rt = r.get("rt_ns", -1)
    return None if rt is None or rt <= 0 else rt < NEAR_NS


class Bench:
    def __init__(self, a):
        self.a = a
        self.adv = os.path.join(ROOT, a.bin, "adv")
        self.advbench = os.path.join(ROOT, a.bin, "AdvBench")
        self.torch = a.python if os.path.exists(a.python) else None
        self.tenv = {}
        if self.torch:
            ok = subprocess.run([self.torch, "-c", "import torchvision"], capture_output=True).returncode == 0
            if not ok:  # the PyPI torchvision wheel may not load with the local torch; timm only imports it
                self.tenv["PYTHONPATH"] = os.path.join(HERE, "torchvision_stub")
        self.aenv = {"ADV_THREADS": str(a.threads), "ADV_PROGRESS": "0"}
        self.out = []
        self.peaks = {}
        self.fit = {}   # (model, precision, side) -> [records]
        self.s224 = {}  # (model, kind, batch, precision, side) -> [records]
        self.mem = {}   # (model, side) -> record
        self.acc = None
        self.clean = {}  # (model, precision) -> record

    def torch_cmd(self, *args):
        return [self.torch, os.path.join(HERE, "torch_users.py"), *args, "--threads", str(self.a.threads)]

    # -- measurements ------------------------------------------------------------------------

    def measure_peaks(self):
        r = run([self.advbench, "peaks", "--budget", "1"], self.aenv)
        self.peaks = r[0] if r else {"fp32": float("nan"), "bf16": float("nan")}

    def core_roundtrip(self):
        """The CPU 0 <-> 1 cache-line round trip in ns (AdvBench corelat), -1 when not measured. On a
        2-vCPU guest it says whether the host put the vCPUs on cores that share an L3 (about 55 ns)
        or not (about 330 ns), which moves a two-thread fit32 by up to 1.6x (docs/architecture.md,
        "Where the two vCPUs sit")."""
        r = run([self.advbench, "corelat"], self.aenv, timeout=60)
        return r[0].get("rt_ns", -1) if r else -1

    def measure_fit32(self):
        for rep in range(self.a.reps):
            for key, _ in self.models32():
                for prec in self.precisions():
                    log(f"fit32 {key} {prec} run {rep + 1}/{self.a.reps}")
                    rt = self.core_roundtrip()
                    for r in run([self.adv, "benchmarks/fit32.adv", key, prec, str(self.a.threads)], self.aenv):
                        r["rt_ns"] = rt
                        self.fit.setdefault((key, prec, "adv"), []).append(r)
                    if self.torch:
                        cmd = self.torch_cmd("fit32", key) + (["--bf16"] if prec == "bf16" else [])
                        rt = self.core_roundtrip()
                        for r in run(cmd, self.tenv):
                            r["rt_ns"] = rt
                            self.fit.setdefault((key, prec, "torch"), []).append(r)

    def measure_224(self, kinds):
        work = []
        if "eval" in kinds:
            work += ["eval:8"]
        if "train" in kinds:
            work += ["train:16"]
        if "eval" in kinds:
            work += ["eval:32"]
        for m in self.models224():
            for prec in self.precisions():
                log(f"224 {m} {prec}: {','.join(work)}")
                env = dict(self.aenv, ADV_BENCH_MODEL=m, ADV_BENCH_PRECISION=prec, ADV_BENCH_WORK=",".join(work),
                           ADV_BENCH_REPS=str(self.a.reps224))
                rt = self.core_roundtrip()
                for r in run([self.advbench, "step224"], env):
                    r["rt_ns"] = rt
                    self.s224.setdefault((m, r["kind"], r["batch"], prec, "adv"), []).append(r)
                if self.torch:
                    cmd = self.torch_cmd("step224", m, "--work", ",".join(work), "--reps", str(self.a.reps224))
                    rt = self.core_roundtrip()
                    for r in run(cmd + (["--bf16"] if prec == "bf16" else []), self.tenv):
                        r["rt_ns"] = rt
                        self.s224.setdefault((m, r["kind"], r["batch"], prec, "torch"), []).append(r)

    def measure_mem(self):
        for m in self.models224():
            log(f"mem224 {m}")
            env = dict(self.aenv, ADV_BENCH_MODEL=m, ADV_BENCH_PRECISION="fp32", ADV_BENCH_WORK="train:32", ADV_BENCH_REPS="1")
            r = run([self.advbench, "step224"], env)
            if r:
                self.mem[(m, "adv")] = r[0]
            if self.torch:
                r = run(self.torch_cmd("step224", m, "--work", "train:32", "--reps", "1"), self.tenv)
                if r:
                    self.mem[(m, "torch")] = r[0]

    def measure_acc(self):
        weights = os.path.join(ROOT, ".build", "bench", "convnext_atto_fmnist_pgd.safetensors")
        os.makedirs(os.path.dirname(weights), exist_ok=True)
        args = [self.adv, "benchmarks/bf16_eval.adv", weights, str(self.a.threads)]
        if not os.path.exists(weights):
            args.append("train")
        log("bf16acc" + (" (training the model first)" if len(args) > 4 else ""))
        r = run(args, self.aenv)
        self.acc = r[0] if r else None

    def measure_clean(self):
        for key, _ in self.models32():
            for prec in self.precisions():
                log(f"clean {key} {prec}")
                r = run([self.adv, "benchmarks/clean_cost.adv", key, prec, str(self.a.threads), "512", str(self.a.reps)], self.aenv)
                if r:
                    self.clean[(key, prec)] = r[0]

    # -- selection -------------------------------------------------------------------------

    def wanted(self, name):
        words = [w for w in self.a.models.split(",") if w]
        return not words or any(w in name for w in words)

    def models32(self):
        return [(k, label) for k, label in FIT32_MODELS if self.wanted(k)]

    def models224(self):
        return [m for m in MODELS224 if self.wanted(m)]

    def precisions(self):
        return [p for p in ["fp32", "bf16"] if p in self.a.precisions.split(",")]

    # -- tables ----------------------------------------------------------------------------

    def emit(self, s=""):
        print(s, flush=True)
        self.out.append(s)

    def table(self, head, rows):
        self.emit("| " + " | ".join(head) + " |")
        self.emit("|" + "|".join("---" for _ in head) + "|")
        for r in rows:
            self.emit("| " + " | ".join(r) + " |")
        self.emit()

    @staticmethod
    def f(x, d=1):
        return "-" if x is None or x != x else f"{x:.{d}f}"

    @staticmethod
    def ratio(a, b):
        return "-" if not a or not b else f"{a / b:.2f}x"

    def fit_rate(self, key, prec, side, near=None):
        """Best images/s of a row's runs on one side (only the runs in one vCPU placement when `near`
        is True or False), how many runs, and the runs."""
        rs = [r for r in self.fit.get((key, prec, side), []) if near is None or is_near(r) == near]
        rates = [512 / (r["t768"] - r["t256"]) for r in rs if r["t768"] > r["t256"]]
        return (max(rates) if rates else None), len(rates), rs

    @staticmethod
    def round_trips(runs):
        return ", ".join(f"{r['rt_ns']:.0f}" if r.get("rt_ns", -1) > 0 else "?" for r in runs)

    def same_placement(self, best):
        """adv / PyTorch among runs in the same vCPU placement: near if both sides have a near run,
        else far if both have a far one, else "-". `best(side, near)` gives a side's best rate."""
        for near, word in [(True, "near"), (False, "far")]:
            a, t = best("adv", near), best("torch", near)
            if a and t:
                return f"{self.ratio(a, t)} ({word})"
        return "-"

    def report_fit32(self):
        self.emit(f"### `fit` at 32x32 (batch 64, AdamW, PGD-1, {self.a.threads} threads)\n")
        self.emit("images/s of the whole call, (768 - 256) / (t768 - t256), best of the runs (n); PyTorch: the same loop "
                  "(and its fastest single step, the issue's old reference); bf16 = adv's precision bf16 against "
                  "PyTorch's bf16 autocast. vCPU round trip: the CPU 0 <-> 1 cache-line round trip (AdvBench corelat) "
                  "measured just before each run, in run order (about 55 ns: the two vCPUs share an L3, \"near\"; about 330 ns: "
                  "they do not, \"far\", and two-thread fit runs up to 1.6x slower, PyTorch's too); same placement: the "
                  "best runs of both sides among the near runs (else the far runs) when both sides have one.\n")
        rows = []
        for key, label in self.models32():
            for prec in self.precisions():
                a, na, ra = self.fit_rate(key, prec, "adv")
                t, nt, rt = self.fit_rate(key, prec, "torch")
                step = max((64 / r["best_step"] for r in rt), default=None)
                same = self.same_placement(lambda side, near: self.fit_rate(key, prec, side, near)[0])
                rows.append([label, prec, f"{self.f(a)} ({na})", f"{self.f(t)} ({nt})", self.f(step),
                             self.ratio(a, t), self.ratio(a, step), same,
                             f"{self.round_trips(ra)}; {self.round_trips(rt)}"])
        self.table(["model", "precision", "adv fit (images/s)", "PyTorch loop (images/s)", "PyTorch best step (images/s)",
                    "adv / PyTorch loop", "adv / PyTorch step", "adv / PyTorch loop, same placement",
                    "vCPU round trip adv; PyTorch (ns)"], rows)

    def best224(self, m, kind, batch, prec, side, near=None):
        rs = [r for r in self.s224.get((m, kind, batch, prec, side), []) if near is None or is_near(r) == near]
        return min((r["seconds"] for r in rs), default=None), rs

    def report_224(self, kinds):
        self.emit(f"### 224x224 full-size models (1000 classes, {self.a.threads} threads)\n")
        self.emit(f"images/s, best of {self.a.reps224} run(s) in one process per model, precision and side (the first "
                  "run included; eval at batch 8 runs first in each process, so the model is warm for the others); eval = PGD-5 (eps 4/255, step 1/255, no random start) + the scoring forward; "
                  "train = PGD-1 + forward/backward + AdamW. vCPU round trip: measured before each side's process (its runs "
                  "share it); same placement: as in the fit32 table.\n")
        rows = []
        work = ([("eval", 8), ("eval", 32)] if "eval" in kinds else []) + ([("train", 16)] if "train" in kinds else [])
        for m in self.models224():
            for kind, batch in work:
                for prec in self.precisions():
                    ta, ra = self.best224(m, kind, batch, prec, "adv")
                    tt, rt = self.best224(m, kind, batch, prec, "torch")
                    ia = batch / ta if ta else None
                    it = batch / tt if tt else None

                    def best(side, near):
                        t, _ = self.best224(m, kind, batch, prec, side, near)
                        return batch / t if t else None
                    rows.append([m, f"{'PGD-5 eval' if kind == 'eval' else 'PGD-1 train step'}", str(batch), prec,
                                 self.f(ia, 2), self.f(it, 2), self.ratio(ia, it), self.same_placement(best),
                                 f"{self.round_trips(ra[:1])}; {self.round_trips(rt[:1])}"])
        self.table(["model", "workload", "batch", "precision", "adv (images/s)", "PyTorch (images/s)", "adv / PyTorch",
                    "same placement", "vCPU round trip adv; PyTorch (ns)"], rows)

    def report_efficiency(self):
        p32, p16 = self.peaks.get("fp32"), self.peaks.get("bf16")
        self.emit(f"### Efficiency: achieved GFLOP/s over the measured product peaks\n")
        self.emit(f"Peaks measured in this run with {self.a.threads} threads (square 1536 products): fp32 "
                  f"{self.f(p32)} GFLOP/s, bf16 {self.f(p16)} GFLOP/s (AVX512-BF16: {self.peaks.get('avx512bf16')}). "
                  f"FLOPs per image: 2 x multiply-adds per forward; PGD-5 eval = {FWD_EVAL} forwards, PGD-1 train step "
                  f"= {FWD_TRAIN} forwards (an input gradient counts as one forward, a training backward as two). "
                  "PyTorch is credited with the same FLOPs.\n")
        rows = []

        def add(label, scale, macs, prec, ia, it):
            if not macs:
                return
            flops = 2 * macs * scale
            peak = p16 if prec == "bf16" else p32
            ga = flops * ia / 1e9 if ia else None
            gt = flops * it / 1e9 if it else None
            rows.append([label, prec, self.f(flops / 1e9, 2), self.f(ga), f"{ga / peak * 100:.0f}%" if ga and peak else "-",
                         self.f(gt), f"{gt / peak * 100:.0f}%" if gt and peak else "-"])

        for key, label in self.models32():
            for prec in self.precisions():
                a, _, ra = self.fit_rate(key, prec, "adv")
                t, _, _ = self.fit_rate(key, prec, "torch")
                macs = ra[0]["macs"] if ra else None
                add(f"{label}, fit 32x32", FWD_TRAIN, macs, prec, a, t)
        for m in self.models224():
            for kind, batch, scale in [("eval", 32, FWD_EVAL), ("train", 16, FWD_TRAIN)]:
                for prec in self.precisions():
                    ta, ra = self.best224(m, kind, batch, prec, "adv")
                    tt, _ = self.best224(m, kind, batch, prec, "torch")
                    if not ra:
                        continue
                    add(f"{m}, 224 {'PGD-5 eval' if kind == 'eval' else 'train step'} b{batch}", scale, ra[0]["macs"], prec,
                        batch / ta if ta else None, batch / tt if tt else None)
        self.table(["model, workload", "precision", "GFLOP/image", "adv GFLOP/s", "adv % of peak", "PyTorch GFLOP/s",
                    "PyTorch % of peak"], rows)

    def report_mem(self):
        self.emit("### Peak RSS: one 224x224 PGD-1 training step at batch 32 (fp32), one process each\n")
        rows = []
        g = lambda r: r["peak_rss"] / 2 ** 30 if r else None
        for m in self.models224():
            a, t = self.mem.get((m, "adv")), self.mem.get((m, "torch"))
            rows.append([m, self.f(g(a), 2), self.f(g(t), 2), self.ratio(g(a), g(t)),
                         self.f(a["seconds"], 1) if a else "-", self.f(t["seconds"], 1) if t else "-"])
        self.table(["model", "adv peak RSS (GiB)", "PyTorch peak RSS (GiB)", "adv / PyTorch", "adv step (s)", "PyTorch step (s)"], rows)

    def report_acc(self):
        self.emit("### bf16 evaluation against fp32 (trained model, 1,000 images)\n")
        a = self.acc
        if not a:
            self.emit("(failed: see the log above)\n")
            return
        self.emit("The small ConvNeXt of the AutoAttack comparison (convnext_atto blocks, depths 1-1-1-1, dims 16-128) "
                  "adversarially trained on Fashion-MNIST at 32x32 (PGD-1, eps 8/255; benchmarks/bf16_eval.adv), "
                  "evaluate() with PGD-10 (eps 8/255, step 2/255) on the first 1,000 test images.\n")
        self.table(["precision", "clean (%)", "robust (%)", "seconds"],
                   [["fp32", self.f(a["clean32"], 2), self.f(a["robust32"], 2), self.f(a["s32"], 1)],
                    ["bf16", self.f(a["clean16"], 2), self.f(a["robust16"], 2), self.f(a["s16"], 1)]])
        self.emit(f"bf16 - fp32: clean {a['clean16'] - a['clean32']:+.2f} points, robust {a['robust16'] - a['robust32']:+.2f} "
                  f"points; {int(a['differ'])} of {int(a['n'])} images change their robust outcome.\n")


    def report_clean(self):
        self.emit("### What clean training accuracy costs in `fit` (default clean_every: 16)\n")
        self.emit(f"One `fit` epoch over 512 synthetic images at 32x32 (batch 64, AdamW, PGD-1, {self.a.threads} threads) "
                  "with clean_every 0 (no clean forward) and 1 (one on every step), interleaved, best of "
                  f"{self.a.reps}; the default measures one step in 16, so its cost is (t1 - t0) / (16 x t0) of the "
                  "epoch's time (target: at most 2%).\n")
        rows = []
        for key, label in self.models32():
            for prec in self.precisions():
                r = self.clean.get((key, prec))
                rows.append([label, prec, self.f(r["t0"], 2) if r else "-", self.f(r["t1"], 2) if r else "-",
                             f"{r['default_cost_percent']:.2f}%" if r else "-"])
        self.table(["model", "precision", "clean_every 0 (s)", "clean_every 1 (s)", "default's cost"], rows)


def machine():
    cpu = "?"
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                cpu = l.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for l in open("/proc/meminfo"):
            if l.startswith("MemTotal"):
                mem = f"{int(l.split()[1]) / 2 ** 20:.0f} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} vCPUs of {cpu}, {mem} RAM, {platform.platform()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", default=os.environ.get("BENCH", "") or " ".join(SECTIONS),
                    help="space- or comma-separated: " + " ".join(SECTIONS))
    ap.add_argument("--reps", type=int, default=3, help="fit32: processes per row and side (best of)")
    ap.add_argument("--reps224", type=int, default=1,
                    help="224: timed runs per workload in its process (best of; each extra run adds about 8 minutes)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="", help="comma-separated words: keep the models whose name contains one")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--python", default=os.environ.get("ADV_REF_PYTHON", "/opt/adv-ref/bin/python"))
    ap.add_argument("--bin", default=".build/release")
    a = ap.parse_args()
    sections = [s for s in a.sections.replace(",", " ").split() if s]
    bad = [s for s in sections if s not in SECTIONS]
    if bad:
        sys.exit(f"users_view.py: unknown section(s) {', '.join(bad)}; sections: {' '.join(SECTIONS)}")
    b = Bench(a)
    start, load0 = time.time(), load()
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    tv = ""
    if b.torch:
        tv = subprocess.run([b.torch, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True).stdout.strip()
    b.measure_peaks()
    rt0 = b.core_roundtrip()
    if "fit32" in sections:
        b.measure_fit32()
    kinds = [k for k in ["eval", "train"] if k + "224" in sections]
    if kinds:
        b.measure_224(kinds)
    if "mem224" in sections:
        b.measure_mem()
    if "bf16acc" in sections:
        b.measure_acc()
    if "clean" in sections:
        b.measure_clean()
    now = datetime.datetime.now(datetime.timezone.utc)
    b.emit(f"## Users' view: {now:%Y-%m-%d} {datetime.datetime.fromtimestamp(start, datetime.timezone.utc):%H:%M}-{now:%H:%M} UTC\n")
    b.emit(f"`make bench BENCH=\"{' '.join(sections)}\"` (benchmarks/users_view.py --reps {a.reps} --reps224 {a.reps224}) "
           f"at adv {commit}, {a.threads} threads, PyTorch {tv or 'not available'}. Machine: {machine()}. "
           f"Load average before {load0}, after {load()}; {(time.time() - start) / 60:.1f} minutes. "
           f"vCPU round trip (AdvBench corelat) before {rt0:.0f} ns, after {b.core_roundtrip():.0f} ns.\n")
    if "fit32" in sections:
        b.report_fit32()
    if kinds:
        b.report_224(kinds)
    if "fit32" in sections or kinds:
        b.report_efficiency()
    if "mem224" in sections:
        b.report_mem()
    if "bf16acc" in sections:
        b.report_acc()
    if "clean" in sections:
        b.report_clean()
    os.makedirs(os.path.join(ROOT, ".build", "bench"), exist_ok=True)
    path = os.path.join(ROOT, ".build", "bench", f"users-view-{now:%Y%m%d-%H%M}.md")
    with open(path, "w") as f:
        f.write("\n".join(b.out) + "\n")
    log(f"tables written to {path}")


if __name__ == "__main__":
    main()
