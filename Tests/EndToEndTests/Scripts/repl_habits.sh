#!/bin/sh
# Drives two adv REPLs at once in tmux (used by REPLTests.testHistoryTwoSessionsUnderscoreAndInteractive):
# both sessions' inputs must end up in ADV_HISTFILE; `_` holds the last shown value; `adv -i`
# runs a script and opens the REPL with its variables.
# Sessions are targeted as "one:" and "two:" (a bare name could match a window named adv).
# Usage: repl_habits.sh ADV DIR ; prints both final screens, exits non-zero on a timeout.
ADV=$1; D=$2; S=adv-habits-$$
T="tmux -L $S"
screen() { $T capture-pane -p -J -S -500 -t "$1:"; }
waitfor() {  # waitfor WINDOW TEXT [COUNT]
  n=0
  while [ "$(screen "$1" | grep -cF -- "$2")" -lt "${3:-1}" ]; do
    n=$((n + 1)); if [ $n -gt 300 ]; then echo "TIMEOUT in $1 waiting for: $2"; screen "$1"; $T kill-server; exit 1; fi
    sleep 0.1
  done
}
line() { $T send-keys -t "$1:" -l "$2"; $T send-keys -t "$1:" Enter; }
printf 'script_var = 41\n# Doubles v.\nfn twice(v) { return 2 * v }\n' > "$D/setup.adv"
E="env HOME=$D ADV_HISTFILE=$D/hist/adv_history TERM=xterm"
mkdir -p "$D/hist"
$T new-session -d -s one -x 120 -y 40 "$E $ADV" </dev/null >/dev/null 2>&1
$T new-session -d -s two -x 120 -y 40 "cd $D && $E $ADV -i setup.adv" </dev/null >/dev/null 2>&1
waitfor one 'adv>'; waitfor two 'adv>'
line one 'first_from_a = 1'
line two 'first_from_b = 2'
line one 'second_from_a = 3'
line two 'script_var + 1'; waitfor two '42'
line two '_ * 10'; waitfor two '420'
line two 'twice(_)'; waitfor two '840'
line one '[7, 8]'; waitfor one '[7, 8]' 2
line one 'len(_) * 111'; waitfor one '222'
line one 'use recipes'; line one ':help recipes.study'; waitfor one 'defined at'
line two ':help twice'; waitfor two 'Doubles v.'
sleep 0.3
screen one; echo "=====";  screen two
$T send-keys -t one: C-d; $T send-keys -t two: C-d; sleep 0.5
$T kill-server 2>/dev/null
exit 0
