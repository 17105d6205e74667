#!/bin/sh
# Drives the adv REPL in a tmux pseudo-terminal (used by REPLTests.swift).
# Usage: repl_session.sh ADV HOME_DIR ; prints the final screen, exits non-zero on a timeout.
ADV=$1; H=$2; S=adv-repl-$$
T="tmux -L $S"
screen() { $T capture-pane -p -J -S -500 -t repl; }
waitfor() {  # waitfor TEXT [COUNT]
  n=0
  while [ "$(screen | grep -cF -- "$1")" -lt "${2:-1}" ]; do
    n=$((n + 1)); if [ $n -gt 300 ]; then echo "TIMEOUT waiting for: $1"; screen; $T kill-server; rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$S"; exit 1; fi
    sleep 0.1
  done
}
keys() { $T send-keys -t repl "$@"; }
text() { $T send-keys -t repl -l "$1"; }
$T new-session -d -s repl -x 160 -y 50 "env HOME=$H TERM=xterm $ADV" </dev/null >/dev/null 2>&1
waitfor 'adv>'
text 'fn sq(x) {'; keys Enter; waitfor '...>'
text 'return x * x'; keys Enter; text '}'; keys Enter
text 'y = sq(4)'; keys Enter; text 'y'; keys Enter; waitfor '16'
text 'pirnt(y)'; keys Enter; waitfor "did you mean 'print'?"
text 'y + 1'; keys Enter; waitfor '17'
text 'rec = {alpha: 1, beta: 2}'; keys Enter
text 'rec.al'; keys Tab; sleep 0.3; keys Enter; waitfor 'adv> rec.alpha'
text 'unique_variable_name = 5'; keys Enter
text 'unique_var'; keys Tab; sleep 0.3; keys Enter; waitfor 'adv> unique_variable_name'
text "path = \"$H/completion_tar"; keys Tab; sleep 0.3; keys Enter; waitfor 'completion_target_file.adv'
text 'suppressed = 99'; keys Enter
text 'suppressed + 1\;'; keys Enter
text 'while true { y = y + 0 }'; keys Enter
k=0  # Ctrl-C until the loop reports the interruption (a slow machine may start it late)
while [ "$(screen | grep -cF 'interrupted (variables are kept)')" -lt 1 ] && [ $k -lt 20 ]; do sleep 0.5; keys C-c; k=$((k + 1)); done
waitfor 'interrupted (variables are kept)'
text 'y * 2'; keys Enter; waitfor '32'
text 'this is not code'; sleep 0.2; keys C-c; sleep 0.2
text '[1,'; keys Enter; waitfor '...>' 3; keys C-c; sleep 0.2
text 'print("after")'; keys Enter; waitfor 'after' 2
text ':vars'; keys Enter; waitfor 'unique_variable_name: number = 5'
text ":save $H/session.adv"; keys Enter; waitfor 'saved '
screen
keys C-d; sleep 0.5
$T kill-server 2>/dev/null
rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$S"
exit 0
