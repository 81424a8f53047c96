#!/usr/bin/env bash
# scripts/fuzz.sh FUZZTIME: run every Fuzz* target of every package for FUZZTIME (such as 5s or
# 2m), one at a time: `go test -fuzz` takes one target of one package. One line per target;
# a failure prints the fuzzer's whole output (with the failing input's file) and stops.
set -euo pipefail
fuzztime=${1:?usage: scripts/fuzz.sh FUZZTIME (such as 5s or 2m)}
go=${GO:-go}
cd "$(dirname "$0")/.."

# `go test -list` prints a package's targets, then its "ok" line; anything else (a build
# failure) is passed on, and fails this script.
targets=$("$go" test -list '^Fuzz' ./... | awk '
	/^Fuzz/ { t[n++] = $1; next }
	/^ok /  { for (i = 0; i < n; i++) print $2, t[i]; n = 0; next }
	/no test files/ { next }
	{ print > "/dev/stderr" }')
count=$(grep -c . <<<"$targets" || true)
module=$("$go" list -m)
echo "== Fuzzing $count targets for $fuzztime each, one at a time (about $count × ($fuzztime + 1s))"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
while read -r pkg target; do
	[ -n "$pkg" ] || continue
	name="${pkg#"$module"/} $target"
	rc=0
	"$go" test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" "$pkg" </dev/null >"$log" 2>&1 || rc=$?
	if [ $rc -eq 0 ]; then
		echo "fuzz $name for $fuzztime: passed"
	elif grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
		# Go 1.26 can end a time-limited run with a bare "context deadline exceeded"
		# (go.dev/issue/75804); without a failing input written, that is the fuzz time
		# running out, not a finding.
		echo "fuzz $name for $fuzztime: passed (stopped at the time limit by go.dev/issue/75804, no failing input)"
	else
		echo "fuzz $name for $fuzztime: FAILED"
		grep -v '^fuzz: elapsed' "$log" || true
		exit 1
	fi
done <<<"$targets"
