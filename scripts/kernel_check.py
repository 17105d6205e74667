"""The Jupyter kernel driven by jupyter_client (make kernel-check; docs/notebooks.md).

Usage: python kernel_check.py PATH/TO/adv
Installs the kernel spec into a temporary prefix, starts the kernel through a KernelManager and
checks execute (streams, execute_result, a table as text/html, errors with the caret),
completion, inspection, is_complete, interrupt (signal and interrupt_request) with variables
kept, rejected messages (wrong signature, malformed) with the kernel alive, restart, shutdown,
a missing/invalid connection file (exit 2), and a small percent-format .adv made a notebook by
Jupytext and run by `jupyter nbconvert --execute`.
Runs every check and exits non-zero when any failed.
"""
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time

ADV = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="adv-kernel-check-")
os.environ["JUPYTER_PATH"] = os.path.join(TMP, "share", "jupyter")
os.environ["JUPYTER_DATA_DIR"] = os.path.join(TMP, "data")
os.environ["ADV_PROGRESS"] = "1"

import zmq  # noqa: E402  (after JUPYTER_PATH is set)
from jupyter_client import KernelManager  # noqa: E402
from jupyter_client.session import Session  # noqa: E402

BIN = os.path.dirname(sys.executable)
import checks  # noqa: E402  (scripts/checks.py, beside this file)
from checks import check  # noqa: E402


def run(kc, code, timeout=30):
    """Executes code; returns (reply content, [(msg_type, content)] of its iopub messages)."""
    msg_id = kc.execute(code)
    outputs = []
    while True:
        m = kc.get_iopub_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        t = m["msg_type"]
        if t == "status" and m["content"]["execution_state"] == "idle":
            break
        if t != "status":
            outputs.append((t, m["content"]))
    reply = kc.get_shell_msg(timeout=timeout)
    return reply["content"], outputs


def text_of(outputs, kind, name=None):
    return "".join(c.get("text", "") for t, c in outputs if t == kind and (name is None or c["name"] == name))


# --- install and kernelspec list ---------------------------------------------------------------
r = subprocess.run([ADV, "kernel", "install", "--prefix", TMP], capture_output=True, text=True)
spec_dir = os.path.join(TMP, "share", "jupyter", "kernels", "adv")
check(r.returncode == 0 and os.path.exists(os.path.join(spec_dir, "kernel.json")), "adv kernel install --prefix writes kernel.json")
spec = json.load(open(os.path.join(spec_dir, "kernel.json")))
check(spec["argv"][0] == os.path.realpath(ADV) and spec["argv"][1:] == ["kernel", "{connection_file}"]
      and spec["display_name"] == "adv" and spec["language"] == "adv", "kernel.json names this adv and {connection_file}")
check(os.path.exists(os.path.join(spec_dir, "logo-64x64.png")), "the logo is installed")
ls = subprocess.run([os.path.join(BIN, "jupyter"), "kernelspec", "list"], capture_output=True, text=True)
check("adv" in ls.stdout.split() and spec_dir in ls.stdout, "jupyter kernelspec list shows adv")

# --- bad connection files ----------------------------------------------------------------------
r = subprocess.run([ADV, "kernel", os.path.join(TMP, "nope.json")], capture_output=True, text=True)
check(r.returncode == 2 and "does not exist" in r.stderr, "missing connection file: exit 2 with the reason")
bad = os.path.join(TMP, "bad.json")
open(bad, "w").write('{"ip": "127.0.0.1", "key": "k"')
r = subprocess.run([ADV, "kernel", bad], capture_output=True, text=True)
check(r.returncode == 2 and "not a JSON object" in r.stderr, "invalid connection file: exit 2 with the reason")

# --- a session ---------------------------------------------------------------------------------
log_path = os.path.join(TMP, "kernel.log")
log = open(log_path, "w")
km = KernelManager(kernel_name="adv")
km.start_kernel(stderr=log)
kc = km.client()
kc.start_channels()
kc.wait_for_ready(timeout=60)
info = kc.kernel_info(reply=True)["content"]
check(info["protocol_version"] == "5.3" and info["language_info"]["name"] == "adv", "kernel_info: protocol 5.3, language adv")

reply, out = run(kc, 'x = 41 + 1\nprint("hello", x)\nx')
results = [c for t, c in out if t == "execute_result"]
check(reply["status"] == "ok" and text_of(out, "stream", "stdout") == "hello 42\n", "execute: print arrives as a stdout stream")
check(len(results) == 1 and results[0]["data"]["text/plain"] == "42" and results[0]["execution_count"] == reply["execution_count"],
      "execute: the last bare expression is the execute_result with the execution count")
check(any(t == "execute_input" and c["code"].startswith("x = 41") for t, c in out), "execute_input is published")
reply, out = run(kc, "x;")
check(not any(t == "execute_result" for t, _ in out), "a trailing ; hides the value")

reply, out = run(kc, '[{model: "a", acc: 91.5}, {model: "b", acc: 80}]')
html = [c["data"].get("text/html", "") for t, c in out if t == "execute_result"]
check(len(html) == 1 and "<table" in html[0] and "<td>a</td>" in html[0] and "<th>acc</th>" in html[0] and ">91.5</td>" in html[0],
      "a list of records is a text/html table")
reply, out = run(kc, 'table([{model: "m", precision: "fp32", params: 1000000, clean: 90.5, robust: 40.1, attack: "PGD-5", drop: 50}])')
html = [c["data"].get("text/html", "") for t, c in out if t == "execute_result"]
check(len(html) == 1 and "<th>Clean Acc@1</th>" in html[0] and ">90.50%</td>" in html[0], "table() shows as an HTML table")
reply, out = run(kc, "fig = plot([1, 2, 3], [1, 4, 9], title: \"squares\")\nfig")
data = [c["data"] for t, c in out if t == "execute_result"]
check(len(data) == 1 and "<svg" in data[0].get("image/svg+xml", "") and "squares" in data[0]["image/svg+xml"]
      and data[0].get("image/png", "").startswith("iVBOR"), "a figure arrives as image/svg+xml and image/png")

# Progress lines of evaluate/fit update in place: one display_data with a display id (transient),
# then update_display_data for that id (what JupyterLab, VS Code and nbclient redraw in place);
# no carriage returns in stream text.
reply, out = run(kc, 'pdata = synthetic(n: 64, classes: 2, image: 8, channels: 1, seed: 2, test: 256)\n'
                     'pm = model("resnet50_gelu", params: 2e4, image: 8, channels: 1, classes: 2)\n'
                     'pr = evaluate(pm, pdata, attack: pgd(eps: 8/255, steps: 10), batch: 16)', timeout=300)
shows = [c for t, c in out if t == "display_data" and "display_id" in c.get("transient", {})]
updates = [c for t, c in out if t == "update_display_data"]
ids = {c["transient"]["display_id"] for c in shows}
check(reply["status"] == "ok" and len(shows) == 1 and shows[0]["data"]["text/plain"].startswith("evaluate "),
      f"progress: evaluate's line is one display_data with a display id ({len(shows)} shown)")
check(len(updates) >= 1 and all(c["transient"]["display_id"] in ids for c in updates)
      and "256/256 images (100%)" in updates[-1]["data"]["text/plain"],
      f"progress: update_display_data redraws that line in place, ending at 100% ({len(updates)} updates)")
check("\r" not in text_of(out, "stream"), "progress: no carriage returns in stream output")
reply, out = run(kc, 'fit(pm, pdata, recipe: recipe(epochs: 2, batch: 16, lr: 0.01, lr_batch: 16))', timeout=300)
shows = [c for t, c in out if t == "display_data" and "display_id" in c.get("transient", {})]
updates = [c for t, c in out if t == "update_display_data"]
check(reply["status"] == "ok" and len(shows) >= 1 and all(c["data"]["text/plain"].startswith("fit ") for c in shows)
      and all(c["transient"]["display_id"] in {s["transient"]["display_id"] for s in shows} for c in updates),
      f"progress: fit's line is a display updated in place ({len(shows)} shown, {len(updates)} updates)")

# What builtins write straight to stderr (notes, warnings) reaches the notebook as a stderr stream,
# not the kernel's log.
log.flush()
log_before = open(log_path).read()
reply, out = run(kc, 'tagged = model("resnet50_gelu.a1_in1k", params: 2e4, image: 8, channels: 1, classes: 2)\n'
                     'tiny = model("deit_tiny", image: 8, channels: 1, classes: 2, patch: 4)')
err = text_of(out, "stream", "stderr")
check(reply["status"] == "ok" and "pretrained tag '.a1_in1k' ignored" in err,
      "a builtin's note on stderr (Console.err) arrives as a stderr stream" + ("" if "ignored" in err else f": {err!r}"))
check("warning: model deit_tiny at image 8 sees 2x2 tokens" in err,
      "a warning written with fputs(stderr) arrives as a stderr stream" + ("" if "warning" in err else f": {err!r}"))
log.flush()
check("ignored" not in open(log_path).read()[len(log_before):], "those notes are not in the kernel's log")

# show(...) inside a cell (as the study does in its training loop) is a display_data of the value.
reply, out = run(kc, 'for i in range(2) { show(plot([1, 2, 3], [i, 4, 9], title: "shown {i}")) }\nshow(table([{model: "m", precision: "fp32", params: 1, clean: 90.5, robust: 40.1, attack: "PGD-5", drop: 50}]))')
shown = [c["data"] for t, c in out if t == "display_data"]
check(reply["status"] == "ok" and len(shown) == 3 and all("<svg" in d.get("image/svg+xml", "") for d in shown[:2])
      and "shown 1" in shown[1]["image/svg+xml"] and "<table" in shown[2].get("text/html", "")
      and not text_of(out, "stream", "stdout"),
      "show(): figures arrive as image/svg+xml and a table as text/html display_data, not as text")

reply, out = run(kc, "y = 1 + nope")
errs = [c for t, c in out if t == "error"]
check(reply["status"] == "error" and len(errs) == 1 and "unknown name 'nope'" in errs[0]["evalue"]
      and "^~~~" in "\n".join(errs[0]["traceback"]), "an error carries the diagnostic and caret")
reply, out = run(kc, "z = (1")
check(reply["status"] == "error" and reply["ename"] == "SyntaxError", "a syntax error is reported")

c = kc.complete("fashion_mnist(si", reply=True)["content"]
check(c["status"] == "ok" and "size:" in c["matches"] and c["cursor_start"] == len("fashion_mnist("), "complete: fashion_mnist(si -> size:")
c = kc.complete("fashion_mnist(", reply=True)["content"]
check("image:" in c["matches"], "complete: fashion_mnist( offers image:")
run(kc, "rec = {alpha: 1, beta: 2}")
c = kc.complete("rec.al", reply=True)["content"]
check(c["matches"] == ["rec.alpha"] and c["cursor_start"] == 0, "complete: record fields")
c = kc.complete("prin", reply=True)["content"]
check("print" in c["matches"], "complete: builtin names")
c = kc.complete('read_text("' + TMP + "/ker", reply=True)["content"]
check(TMP + "/kernel.log" in c["matches"], "complete: paths inside strings")

i = kc.inspect("pgd", reply=True)["content"]
check(i["found"] and "pgd(" in i["data"]["text/plain"], "inspect: help text of a builtin")
i = kc.inspect("no_such_name_here", reply=True)["content"]
check(not i["found"], "inspect: an unknown name is not found")

def is_complete(code):
    kc.is_complete(code)
    return kc.get_shell_msg(timeout=10)["content"]


ic = is_complete("for i in range(3) {")
check(ic["status"] == "incomplete" and ic["indent"].strip() == "" and len(ic["indent"]) > 0, "is_complete: an open block is incomplete with an indent")
check(is_complete("x = 1")["status"] == "complete", "is_complete: a statement is complete")
check(is_complete("x = )")["status"] == "invalid", "is_complete: a syntax error is invalid")

# Interrupt by signal (the kernel spec's interrupt_mode) and by interrupt_request on control.
for how in ("signal", "message"):
    run(kc, "n = 0")
    msg_id = kc.execute("while true { n = n + 1 }")
    time.sleep(1.0)
    if how == "signal":
        km.interrupt_kernel()
    else:
        kc.control_channel.send(kc.session.msg("interrupt_request", {}))
    reply = kc.get_shell_msg(timeout=30)["content"]
    check(reply["status"] == "error" and reply["ename"] == "Interrupted", f"interrupt ({how}) stops a while true loop")
    reply, out = run(kc, "n > 0")
    check([c["data"]["text/plain"] for t, c in out if t == "execute_result"] == ["true"], f"interrupt ({how}): variables are kept")

# A wrongly signed message and a malformed one are dropped; the kernel goes on.
ctx = zmq.Context.instance()
sock = ctx.socket(zmq.DEALER)
ci = km.get_connection_info()
sock.connect(f"tcp://{ci['ip']}:{ci['shell_port']}")
wrong = Session(key=b"not-the-key")
wrong.send(sock, "execute_request", {"code": "bad = 1", "silent": False})
# Correctly signed, but the header is not JSON; then frames without the delimiter.
parts = [b"{not json", b"{}", b"{}", b"{}"]
sig = hmac.new(km.session.key, b"".join(parts), hashlib.sha256).hexdigest().encode()
sock.send_multipart([b"<IDS|MSG>", sig] + parts)
sock.send_multipart([b"garbage", b"frames"])
time.sleep(0.5)
sock.close()
check(km.is_alive(), "the kernel survives a wrongly signed and a malformed message")
reply, out = run(kc, "bad")
check(reply["status"] == "error", "the wrongly signed execute_request did not run")
log.flush()
logged = open(log_path).read()
check("bad signature" in logged and "header is not a JSON object" in logged and "no <IDS|MSG> delimiter" in logged, "rejected messages are logged to stderr")

# Restart: a new session without the old variables.
km.restart_kernel(now=False)
kc.wait_for_ready(timeout=60)
reply, out = run(kc, "x")
check(reply["status"] == "error", "restart: the variables are gone")

# Shutdown: the kernel answers and exits by itself.
kc.shutdown()
proc = km.provisioner.process
try:
    code = proc.wait(timeout=10)
except Exception:
    code = None
check(code == 0, "shutdown_request: the kernel exits with status 0")
kc.stop_channels()
km.cleanup_resources()

# --- nbconvert --execute of a small notebook ---------------------------------------------------
import nbformat  # noqa: E402
# A small percent-format .adv file through Jupytext (from stdin: it refuses the .adv extension).
small = ('# %% [markdown]\n# A small check\n\n# %%\nrows = [{model: "a", acc: 1}]\nprint("rows:", len(rows))\n\n# %%\nrows\n\n'
         '# %%\nd = synthetic(n: 64, classes: 2, image: 8, channels: 1, seed: 2, test: 256)\n'
         'm = model("resnet50_gelu", params: 2e4, image: 8, channels: 1, classes: 2)\n'
         'r = evaluate(m, d, attack: pgd(eps: 8/255, steps: 10), batch: 16)\n')
meta = json.dumps({"kernelspec": {"name": "adv", "display_name": "adv", "language": "adv"},
                   "language_info": {"name": "adv", "file_extension": ".adv"}})
src = os.path.join(TMP, "small.ipynb")
r = subprocess.run([os.path.join(BIN, "jupytext"), "--from", "py:percent", "--to", "ipynb", "--update-metadata", meta,
                    "-o", src, "-"], input=small, capture_output=True, text=True)
check(r.returncode == 0 and [c.cell_type for c in nbformat.read(src, as_version=4).cells] == ["markdown", "code", "code", "code"],
      "jupytext turns a percent-format .adv into a notebook")
r = subprocess.run([os.path.join(BIN, "jupyter"), "nbconvert", "--to", "notebook", "--execute", src,
                    "--output", "small.out.ipynb"], capture_output=True, text=True, timeout=120)
check(r.returncode == 0, "jupyter nbconvert --execute runs a small notebook" + ("" if r.returncode == 0 else ": " + r.stderr[-400:]))
if r.returncode == 0:
    done = nbformat.read(os.path.join(TMP, "small.out.ipynb"), as_version=4)
    outs = done.cells[1].outputs + done.cells[2].outputs
    check(any(o.get("text") == "rows: 1\n" for o in outs) and any("text/html" in o.get("data", {}) for o in outs),
          "the executed notebook holds the stream and the HTML table")
    prog = [o for o in done.cells[3].outputs if o.output_type == "display_data"]
    check(len(prog) == 1 and "256/256 images (100%)" in prog[0].data["text/plain"]
          and not any("\r" in o.get("text", "") for o in done.cells[3].outputs),
          "the executed notebook keeps evaluate's progress as one line at its last state"
          + ("" if len(prog) == 1 else f" ({[o.output_type for o in done.cells[3].outputs]})"))

# examples/study.ipynb is examples/study.adv through Jupytext (make examples/study.ipynb).
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
r = subprocess.run([os.path.join(BIN, "jupytext"), "--from", "py:percent", "--to", "ipynb", "--update-metadata", meta,
                    "-o", os.path.join(TMP, "study.ipynb"), "-"], stdin=open(os.path.join(repo, "examples", "study.adv")),
                   capture_output=True, text=True)
fresh = nbformat.read(os.path.join(TMP, "study.ipynb"), as_version=4)
kept = nbformat.read(os.path.join(repo, "examples", "study.ipynb"), as_version=4)
check([(c.cell_type, c.source) for c in fresh.cells] == [(c.cell_type, c.source) for c in kept.cells]
      and kept.metadata["kernelspec"]["name"] == "adv", "examples/study.ipynb agrees with examples/study.adv")

left = subprocess.run(["pgrep", "-f", os.path.realpath(ADV) + " kernel"], capture_output=True, text=True).stdout.split()
check(not left, "no kernel process is left running" + (": " + " ".join(left) if left else ""))
checks.finish("kernel-check")
