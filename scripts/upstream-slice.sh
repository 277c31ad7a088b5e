#!/usr/bin/env bash
# upstream-slice.sh: the CI-sized slice of the upstream Kubernetes
# conformance suite, run by `make test`: a 2-node lab, then
# `clusterkit conformance upstream` with a focus of a few fast specs from
# each seed area that the reference cluster passes, then the lab deleted.
# A failure of any of them fails the run. The whole suite is
# `scripts/upstream-slice.sh --full` (`make upstream`): every spec of the
# seed's areas, ≈ 20–30 min, too long for CI (docs/upstream-conformance.md).
# Results are kept in ./upstream-results/slice (or full).
#
# Cost: the first build of e2e.test ≈ 7 min on 2 quiet cores (cached in
# ~/.cache/clusterkit/upstream afterwards), the lab and the specs ≈ 2 min.
# Needs root (labs) and containerd; without them it says so and skips.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if [ "$(id -u)" != 0 ] || ! command -v containerd >/dev/null 2>&1; then
	echo "upstream-slice: skipped: labs need root and containerd (scripts/install-containerd.sh)"
	exit 0
fi
scripts/install-upstream-deps.sh

# One spec per line; each is matched exactly by its text.
focus=(
	'[sig-api-machinery] Watchers should be able to start watching from a specific resource version [Conformance]'
	'[sig-api-machinery] server version should find the server version [Conformance]'
	'[sig-apps] Deployment RollingUpdateDeployment should delete old pods and create new ones [Conformance]'
	'[sig-apps] ReplicaSet Replicaset should have a working scale subresource [Conformance]'
	'[sig-network] API Server should have Endpoints and EndpointSlices pointing to API Server [Conformance]'
	'[sig-network] EndpointSlice should create Endpoints and EndpointSlices for Pods matching a Service [Conformance]'
	'[sig-network] Services should find a service from listing all namespaces [Conformance]'
	'[sig-node] Container Runtime blackbox test on terminated container should report termination message as empty when pod succeeds and TerminationMessagePolicy FallbackToLogsOnError is set [Conformance] [NodeConformance]'
	'[sig-node] Pods should be submitted and removed [Conformance] [NodeConformance]'
	'[sig-node] Pods should get a host IP [Conformance] [NodeConformance]'
	'[sig-scheduling] SchedulerPredicates validates that NodeSelector is respected if matching [Conformance] [Serial]'
)
mode=slice
[[ "${1:-}" == "--full" ]] && mode=full
args=()
[[ $mode == full ]] && focus=()
for f in "${focus[@]+"${focus[@]}"}"; do
	args+=(--focus "^$(printf '%s' "$f" | sed 's/[][\\.*^$()+?{}|]/\\&/g')\$")
done

work="$(mktemp -d /tmp/ck-upstream-slice.XXXXXX)"
name="ckslice$$"
bin="$work/clusterkit"
go build -o "$bin" ./cmd/clusterkit
cleanup() {
	"$bin" lab delete --name "$name" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
timeout 600 "$bin" lab create --name "$name" --nodes 2
kubeconfig="$("$bin" lab kubeconfig --name "$name")"
results="$root/upstream-results/$mode"
rm -rf "$results"
timeout 3600 "$bin" conformance upstream --kubeconfig "$kubeconfig" --area seed --results-dir "$results" "${args[@]+"${args[@]}"}"
