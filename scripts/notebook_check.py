"""examples/study.ipynb run end to end by `jupyter nbconvert --to notebook --execute` on the adv
kernel (make notebook-check; docs/notebooks.md). Too slow for CI (the whole study demo).

Usage: python notebook_check.py PATH/TO/adv [--keep DIR] [--quick]
Installs the kernel spec into a temporary prefix (as `adv kernel install --user` does into
~/.local), copies examples/study.ipynb there (the study writes its JSON and CSV next to the
notebook), executes it with nbconvert and checks the executed notebook:
  - no cell failed;
  - the study table is an HTML table (text/html with the study's columns and one row per model);
  - figures are SVG: a training curve per model, the robustness curves, the adversarial grid;
  - each progress line is one output at its final state (no carriage returns in any stream).
--quick runs the same cells on less data (1 epoch of 512 training images, 128 test images): a
smoke test of the outputs in a few minutes, not the study. Prints the wall time of the run;
exits non-zero when any check failed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ADV = os.path.abspath(sys.argv[1])
KEEP = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
QUICK = "--quick" in sys.argv
QUICK_SETUP = [("epochs = 3", "epochs = 1"), ("subset(6000)", "subset(512)"), ("subset(1000)", "subset(128)")]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TMP = KEEP or tempfile.mkdtemp(prefix="adv-notebook-check-")
os.makedirs(TMP, exist_ok=True)
os.environ["JUPYTER_PATH"] = os.path.join(TMP, "share", "jupyter")
os.environ["JUPYTER_DATA_DIR"] = os.path.join(TMP, "data")
BIN = os.path.dirname(sys.executable)
ARCHS = 5
import checks  # noqa: E402  (scripts/checks.py, beside this file)
from checks import check  # noqa: E402


import nbformat  # noqa: E402

r = subprocess.run([ADV, "kernel", "install", "--prefix", TMP], capture_output=True, text=True)
check(r.returncode == 0, "adv kernel install --prefix " + TMP)
src = os.path.join(TMP, "study.ipynb")
shutil.copy(os.path.join(REPO, "examples", "study.ipynb"), src)
if QUICK:
    # a smoke run of the same cells on less data (1 epoch of 512 images, 128 test images): checks
    # the notebook's outputs, not the study's numbers
    nb = nbformat.read(src, as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code" and c.metadata.get("title") == "Setup")
    for old, new in QUICK_SETUP:
        check(old in setup.source, f"--quick: the Setup cell sets {old!r}")
        setup.source = setup.source.replace(old, new)
    nbformat.write(nb, src)
start = time.time()
r = subprocess.run([os.path.join(BIN, "jupyter"), "nbconvert", "--to", "notebook", "--execute", src,
                    "--output", "study.out.ipynb", "--ExecutePreprocessor.timeout=-1"],
                   capture_output=True, text=True, cwd=TMP)
seconds = time.time() - start
check(r.returncode == 0, f"jupyter nbconvert --to notebook --execute examples/study.ipynb ({seconds / 60:.1f} min)"
      + ("" if r.returncode == 0 else ": " + r.stderr[-800:]))
if r.returncode != 0:
    sys.exit(1)

nb = nbformat.read(os.path.join(TMP, "study.out.ipynb"), as_version=4)
outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
check(not any(o.output_type == "error" for o in outputs), "no cell failed")
check(all(c.execution_count is not None for c in nb.cells if c.cell_type == "code"), "every code cell ran")

titled = {c.metadata.get("title", ""): c for c in nb.cells if c.cell_type == "code"}
table = [o.data["text/html"] for o in titled["Results table"].outputs
         if o.output_type in ("display_data", "execute_result") and "text/html" in o.get("data", {})]
check(len(table) == 1 and "<table" in table[0] and "Clean Acc@1" in table[0] and table[0].count("<tr") == ARCHS + 1,
      "the study table is an HTML table with a row per model")

svgs = {name: [o for o in c.outputs if "image/svg+xml" in o.get("data", {})] for name, c in titled.items()}
train = svgs["Train and evaluate the five models"]
check(len(train) == ARCHS and all(s.data["image/svg+xml"].lstrip().startswith("<svg") for s in train),
      f"a training-curve figure per model as SVG ({len(train)})")
check(len(svgs["Robustness curves"]) == 1, "the robustness curves as SVG")
check(len(svgs["Adversarial examples"]) == 1, "the adversarial examples grid as SVG")

streams = [o for o in outputs if o.output_type == "stream"]
check(not any("\r" in o.text for o in streams), "no carriage returns in stream output")
progress = [o for o in titled["Train and evaluate the five models"].outputs
            if o.output_type == "display_data" and o.data.get("text/plain", "").startswith("fit ")]
check(len(progress) >= ARCHS and all("images" in o.data["text/plain"] for o in progress),
      f"fit's progress lines are displays kept at their last state ({len(progress)} lines)")

print(json.dumps({"seconds": round(seconds, 1), "cells": len(nb.cells), "outputs": len(outputs),
                  "notebook": os.path.join(TMP, "study.out.ipynb")}))
if not KEEP and checks.failures == 0:
    shutil.rmtree(TMP, ignore_errors=True)
checks.finish("notebook-check")
