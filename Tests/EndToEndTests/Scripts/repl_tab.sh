#!/bin/sh
# Pastes tab-indented code into the adv REPL without bracketed paste (used by HardeningTests):
# a Tab after only whitespace must insert indentation, not complete. Prints the final screen.
# Usage: repl_tab.sh ADV HOME_DIR
ADV=$1; H=$2; S=adv-tab-$$
T="tmux -L $S"
screen() { $T capture-pane -p -J -S -200 -t repl; }
waitfor() {
  n=0
  while [ "$(screen | grep -cF -- "$1")" -lt "${2:-1}" ]; do
    n=$((n + 1)); if [ $n -gt 300 ]; then echo "TIMEOUT waiting for: $1"; screen; $T kill-server; exit 1; fi
    sleep 0.1
  done
}
$T new-session -d -s repl -x 160 -y 50 "env HOME=$H TERM=xterm INPUTRC=/dev/null $ADV" </dev/null >/dev/null 2>&1
waitfor 'adv>'
$T send-keys -t repl -l 'fn pick(x) {'; $T send-keys -t repl Enter; waitfor '...>'
$T send-keys -t repl -l "	if x > 0 {"; $T send-keys -t repl Enter
$T send-keys -t repl -l "		return \"pos\""; $T send-keys -t repl Enter
$T send-keys -t repl -l "	}"; $T send-keys -t repl Enter
$T send-keys -t repl -l "	return \"neg\""; $T send-keys -t repl Enter
$T send-keys -t repl -l '}'; $T send-keys -t repl Enter
$T send-keys -t repl -l 'print(pick(1), pick(-1))'; $T send-keys -t repl Enter
waitfor 'pos neg'
screen
$T send-keys -t repl C-d; sleep 0.3
$T kill-server 2>/dev/null
exit 0
