#!/bin/sh
# Drives the adv REPL in a tmux pseudo-terminal (used by NotebookEndToEndTests.swift): a figure
# shown as a value draws in braille at the terminal's size, then :report writes the session.
# Usage: repl_report.sh ADV HOME_DIR ; prints the final screen, exits non-zero on a timeout.
ADV=$1; H=$2; S=adv-report-$$
T="tmux -L $S"
screen() { $T capture-pane -p -J -S -500 -t repl; }
waitfor() {
  n=0
  while [ "$(screen | grep -cF -- "$1")" -lt 1 ]; do
    n=$((n + 1)); if [ $n -gt 300 ]; then echo "TIMEOUT waiting for: $1"; screen; $T kill-server; exit 1; fi
    sleep 0.1
  done
}
text() { $T send-keys -t repl -l "$1"; }
keys() { $T send-keys -t repl "$@"; }
$T new-session -d -s repl -x 100 -y 40 "env HOME=$H TERM=xterm $ADV" </dev/null >/dev/null 2>&1
waitfor 'adv>'
text 'f = plot([1, 2, 3, 4], [1, 4, 9, 16], label: "squares", title: "Squares")'; keys Enter
text 'f'; keys Enter; waitfor 'squares'
text 'print("printed text")'; keys Enter; waitfor 'printed text'
text ":report $H/session.html"; keys Enter; waitfor 'wrote '
screen
$T kill-server
