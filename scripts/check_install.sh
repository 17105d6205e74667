#!/bin/sh
# `make check-install` (part of `make test`): installs into a temporary PREFIX, runs the
# installed adv from another directory (it must find its stdlib in PREFIX/share/adv/stdlib),
# checks --version, the manual page (rendered with man -l) and the completions, checks that a
# copied binary finds the stdlib built into it and through ADV_PATH, then uninstalls and checks nothing is left.
set -eu
MAKE=${MAKE:-make}
P=$(mktemp -d /tmp/adv-prefix.XXXXXX)
W=$(mktemp -d /tmp/adv-elsewhere.XXXXXX)
trap 'rm -rf "$P" "$W"' EXIT
fail() { echo "check-install: FAIL: $*" >&2; exit 1; }

$MAKE --no-print-directory install PREFIX="$P" >/dev/null
for f in bin/adv share/adv/stdlib/recipes.adv share/man/man1/adv.1 share/bash-completion/completions/adv \
         share/zsh/site-functions/_adv share/fish/vendor_completions.d/adv.fish share/doc/adv/LICENSE; do
  [ -f "$P/$f" ] || fail "make install did not install $f"
done

out=$(cd "$W" && env -u ADV_PATH "$P/bin/adv" -e 'use recipes; print(len(recipes.archs))') || fail "installed adv failed: $out"
[ "$out" = 5 ] || fail "installed adv printed '$out' for len(recipes.archs), expected 5"

# The license the README explains (GPL-3.0-or-later: the binary links GNU readline).
head -1 "$P/share/doc/adv/LICENSE" | grep -q "GNU GENERAL PUBLIC LICENSE" || fail "installed LICENSE is not the GPL"
grep -q "GPL-3.0-or-later" README.md || fail "README does not state the license"

ver=$("$P/bin/adv" --version)
echo "$ver" | grep -Eq '^adv [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]{7,}(-dirty)?\)$' || fail "--version gave '$ver'"

page=$(MANWIDTH=100 man -l "$P/share/man/man1/adv.1" 2>&1) || fail "man -l failed: $page"
echo "$page" | grep -q "SYNOPSIS" || fail "man page has no SYNOPSIS:
$page"
echo "$page" | grep -q "Evaluate CODE and exit" || fail "man page does not document -e:
$page"
echo "$page" | grep -q "then start the REPL" || fail "man page does not document -i"
grep -q "adv" "$P/share/bash-completion/completions/adv" || fail "empty bash completion"
grep -q "complete" "$P/share/fish/vendor_completions.d/adv.fish" || fail "empty fish completion"
grep -q "#compdef adv" "$P/share/zsh/site-functions/_adv" || fail "zsh completion lacks #compdef"

# A copied binary (no share/ next to it, no ADV_PATH) uses the stdlib built into it.
cp "$P/bin/adv" "$W/adv"
out=$(cd "$W" && env -u ADV_PATH ./adv -e 'use recipes; print(len(recipes.archs))') || fail "copied adv without ADV_PATH: $out"
[ "$out" = 5 ] || fail "copied adv without ADV_PATH printed '$out'"
# ... and ADV_PATH still comes first.
out=$(cd "$W" && ADV_PATH="$P/share/adv/stdlib" ./adv -e 'use recipes; print(len(recipes.archs))') || fail "copied adv with ADV_PATH: $out"
[ "$out" = 5 ] || fail "copied adv with ADV_PATH printed '$out'"

$MAKE --no-print-directory uninstall PREFIX="$P" >/dev/null
left=$(find "$P" -type f)
[ -z "$left" ] || fail "make uninstall left: $left"
echo "check-install: ok (installed, ran, man page, completions, uninstalled)"
