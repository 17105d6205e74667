"""The pass/fail lines of the end-to-end check scripts (kernel_check.py, notebook_check.py).

`check(cond, what)` prints "ok     what" or "FAILED what" and counts failures; `finish(name)`
prints the summary line and exits with status 1 if anything failed.
"""
import sys

failures = 0


def check(cond, what):
    global failures
    print(("ok     " if cond else "FAILED ") + what, flush=True)
    if not cond:
        failures += 1


def finish(name):
    print(f"{name}: " + ("all passed" if failures == 0 else f"{failures} FAILED"))
    sys.exit(1 if failures else 0)
