#!/bin/sh
# Drives the adv REPL in a tmux pseudo-terminal (used by REPLTests.swift): Ctrl-C inside
# evaluate, fit and an attack call must say "interrupted (variables are kept)" and keep the
# variables; Tab completes a keyword argument (`pgd(e` -> `pgd(eps: `).
# Usage: repl_interrupt.sh ADV HOME_DIR ; prints the final screen, exits non-zero on a timeout.
ADV=$1; H=$2; S=adv-repl-int-$$
T="tmux -L $S"
screen() { $T capture-pane -p -J -S -1000 -t repl; }
waitfor() {  # waitfor TEXT [COUNT] [TENTHS]
  n=0
  while [ "$(screen | grep -cF -- "$1")" -lt "${2:-1}" ]; do
    n=$((n + 1)); if [ $n -gt "${3:-600}" ]; then echo "TIMEOUT waiting for: $1"; screen; $T kill-server; rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$S"; exit 1; fi
    sleep 0.1
  done
}
keys() { $T send-keys -t repl "$@"; }
text() { $T send-keys -t repl -l "$1"; }
# interrupt N MARK: once MARK is on the screen (printed just before the long call starts), wait a
# moment so the call is running, press Ctrl-C once and wait for the N-th interruption message.
interrupt() { waitfor "$2"; sleep 1.5; keys C-c; waitfor 'interrupted (variables are kept)' "$1" 1200; }
$T new-session -d -s repl -x 200 -y 50 "env HOME=$H TERM=xterm ADV_THREADS=1 $ADV" </dev/null >/dev/null 2>&1
waitfor 'adv>'
text 'kept = 42'; keys Enter
text 'm = model("resnet18", image: 16, classes: 4, width: 0.25)'; keys Enter
text 'd = synthetic(n: 4000, classes: 4, image: 16, test: 4000)'; keys Enter
text 'print("setup " + "done")'; keys Enter; waitfor 'setup done' 1 1200
text 'print("mark" + "-1"); r = evaluate(m, d, attack: pgd(eps: 4/255, steps: 100000), batch: 8, progress: false, sanity: false)'; keys Enter
interrupt 1 'mark-1'
text 'print("mark" + "-2"); h = fit(m, d, recipe: recipe(epochs: 1000, batch: 8), attack: pgd(eps: 4/255, steps: 200), progress: false)'; keys Enter
interrupt 2 'mark-2'
text 'a = pgd(eps: 4/255, steps: 100000)'; keys Enter
text 'print("mark" + "-3"); adv = a(m, rand(8, 3, 16, 16), [0, 1, 2, 3, 0, 1, 2, 3])'; keys Enter
interrupt 3 'mark-3'
text 'print("kept:", kept, m.name, len(d.train))'; keys Enter; waitfor 'kept: 42'
text 'x = pgd(e'; keys Tab; sleep 0.3; text '4/255)'; keys Enter; waitfor 'adv> x = pgd(eps: 4/255)'
text 'x.eps * 255'; keys Enter; sleep 0.5
screen
keys C-d; sleep 0.5
$T kill-server 2>/dev/null
rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$S"
exit 0
