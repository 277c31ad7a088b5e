#!/usr/bin/env bash
# Runs the CRI validation suite (critest from sigs.k8s.io/cri-tools) against
# clusterkit's simulated CRI runtime and prints how many specs pass.
# Not part of `make test` (it takes a few minutes).
#
#   scripts/critest.sh                 # all validation specs
#   FOCUS=Conformance scripts/critest.sh
#   ENDPOINT=unix:///path/containerd.sock scripts/critest.sh   # any other runtime
set -euo pipefail
cd "$(dirname "$0")/.."
CRITOOLS_VERSION=${CRITOOLS_VERSION:-v1.37.0}
CACHE=${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clusterkit}
OUT=${OUT:-$(mktemp -d /tmp/critest.XXXXXX)}
mkdir -p "$CACHE" "$OUT"

critest="$CACHE/critest-$CRITOOLS_VERSION"
if [ ! -x "$critest" ]; then
  go mod download sigs.k8s.io/cri-tools@"$CRITOOLS_VERSION"
  src=$(go env GOMODCACHE)/sigs.k8s.io/cri-tools@"$CRITOOLS_VERSION"
  (cd "$src" && GOFLAGS="-mod=mod -buildvcs=false" go test -c -o "$critest" ./cmd/critest)
fi

pid=""
if [ -z "${ENDPOINT:-}" ]; then
  go build -o "$OUT/cksim" ./cri/simruntime/cmd/cksim
  sock="$OUT/sim.sock"
  "$OUT/cksim" --socket "$sock" --subnet "${SUBNET:-127.120.0.0/20}" 2>"$OUT/cksim.log" &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  ENDPOINT="unix://$sock"
fi

args=(--runtime-endpoint "$ENDPOINT" --image-endpoint "$ENDPOINT" --report-dir "$OUT"
      --ginkgo.timeout 30m --ginkgo.no-color)
[ -n "${FOCUS:-}" ] && args+=(--ginkgo.focus "$FOCUS")
[ -n "${SKIP:-}" ] && args+=(--ginkgo.skip "$SKIP")
set +e
"$critest" "${args[@]}" >"$OUT/critest.log" 2>&1
rc=$?
set -e
tail -5 "$OUT/critest.log"
echo "critest exit $rc; full log and JUnit report in $OUT"
grep -E '^(Ran|FAIL!|SUCCESS!)' "$OUT/critest.log" || true
