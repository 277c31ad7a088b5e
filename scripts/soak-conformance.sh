#!/bin/bash
# Runs `clusterkit conformance` (the whole suite against the in-process reference) N times in a
# row, to show it has no false failures: a spec that fails now and then on a busy machine is a
# bug, in the spec or in the reference. The CLI is built once; every run's output and JUnit report
# are kept in the soak directory. Stops at the first failing run, naming its failed specs and its
# output, and ends with "K/N runs passed in T".
# Usage: scripts/soak-conformance.sh [N] [conformance flags...]   (N defaults to 20)
#   SOAK_DIR=/some/dir keeps the outputs there (default: a new /tmp/soak-conformance.XXXXXX).
#   Example: scripts/soak-conformance.sh 50 --focus controllers.gc
set -euo pipefail
n="${1:-20}"
[ $# -gt 0 ] && shift
case "$n" in
  ''|*[!0-9]*|0) echo "usage: $0 [N] [conformance flags...]  (N a positive number, default 20)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
dir="${SOAK_DIR:-$(mktemp -d /tmp/soak-conformance.XXXXXX)}"
mkdir -p "$dir"
echo "soak: building clusterkit once (go build -o $dir/clusterkit ./cmd/clusterkit) …"
go build -o "$dir/clusterkit" ./cmd/clusterkit
echo "soak: $n runs of clusterkit conformance $*; outputs in $dir"

duration() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

start=$SECONDS
passed=0
for i in $(seq 1 "$n"); do
  log="$dir/run-$i.log"
  t0=$SECONDS
  if "$dir/clusterkit" conformance --no-color --junit-report "$dir/run-$i.xml" "$@" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "run $i/$n: passed in $(duration $((SECONDS - t0)))"
    continue
  fi
  echo "run $i/$n: FAILED after $(duration $((SECONDS - t0))); output: $log"
  # The readable report at the end of the output has one line per spec and the reason of each failure.
  if ! grep -E -A1 '^  (failed|panicked|timedout|aborted|interrupted) ' "$log"; then
    echo "(no failed spec in the report; the output ends with:)"
    tail -n 20 "$log"
  fi
  echo "$passed/$n runs passed in $(duration $((SECONDS - start))) (stopped at run $i)"
  exit 1
done
echo "$passed/$n runs passed in $(duration $((SECONDS - start)))"
