#!/usr/bin/env bash
# test-peers.sh builds and tests the peer modules: separate Go modules that
# link real Kubernetes components (k8s.io/kubernetes v1.37.2) so the main
# module's build stays light. `go test ./...` at the root does not descend
# into them.
#
#   scripts/test-peers.sh            conformance specs against the real kube-scheduler,
#                                    a controller-runtime webhook server against clusterkit's
#                                    API server (in-process, then as a Deployment on a one-node
#                                    lab with a CRD applied by kubectl; the lab needs root and
#                                    containerd, else it is skipped with the reason), and the
#                                    auth specs against the real kube-apiserver, and the controller
#                                    specs against the real kube-controller-manager
#   scripts/test-peers.sh -bench     also the side-by-side scheduler benchmark
#                                    (100/1,000/5,000 nodes, 10,000 pods; ~3 min)
#   KUBE_APISERVER_API_SPECS=1 scripts/test-peers.sh
#                                    also the api specs against the real kube-apiserver (~70 s)
#
# Cost: peers/kube-scheduler cold build ~2.5 min and ~2 GB RAM on 2 cores (cached
# afterwards), specs ~30 s; peers/kube-apiserver shares that build cache and adds ~770
# packages (alone and fully cold: ~25 CPU-minutes, ~12 min on 2 free cores, 30 min on a
# loaded machine, ~3 GB peak RSS, 2.9 GB of build cache), specs ~50 s;
# peers/kube-controller-manager shares it too (after the other two: ~7 min on a loaded machine,
# 1.5 CPU-minutes of it compiling), specs ~110 s.
# Every step is bounded by a timeout.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/peers/kube-scheduler"

bench=0
[[ "${1:-}" == "-bench" ]] && bench=1

echo "== peers/kube-scheduler: vet and build"
timeout 900 go vet ./...
echo "== peers/kube-scheduler: scheduler conformance specs against kube-scheduler v1.37.2"
timeout 900 go test -count=1 -timeout 10m ./...
if [[ $bench == 1 ]]; then
	echo "== peers/kube-scheduler: benchmark, clusterkit vs kube-scheduler"
	timeout 3600 go test -count=1 -run '^$' -bench Schedulers -benchtime 1x -timeout 60m .
fi

cd "$root/peers/controller-runtime"
echo "== peers/controller-runtime: a controller-runtime webhook server behind clusterkit's API server"
timeout 900 go vet ./...
timeout 900 go test -count=1 -timeout 5m -skip TestWebhookServerAndCRDOnLab ./...
echo "== peers/controller-runtime: the webhook server as a Deployment and a CRD with kubectl on a one-node lab"
timeout 1500 go test -count=1 -timeout 24m -run TestWebhookServerAndCRDOnLab ./...

cd "$root/peers/kube-apiserver"
echo "== peers/kube-apiserver: vet and build"
timeout 1800 go vet ./...
echo "== peers/kube-apiserver: auth conformance specs against kube-apiserver v1.37.2"
# Stamped as a release build is (as conformance/upstream stamps e2e.test and kubectl), so its
# /version reports v1.37.2 rather than v0.0.0-master (the api.version.* specs read it).
kube_version=$(sed -n 's/^[[:space:]]*k8s.io\/kubernetes[[:space:]]\{1,\}\(v[0-9][^[:space:]]*\).*/\1/p' go.mod | head -1)
kube_major=${kube_version#v}; kube_major=${kube_major%%.*}
kube_minor=${kube_version#v*.}; kube_minor=${kube_minor%%.*}
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$kube_major -X $pkg.gitMinor=$kube_minor -X $pkg.gitTreeState=clean"
done
timeout 1800 go test -count=1 -timeout 25m -ldflags "$ldflags" ./...

cd "$root/peers/kube-controller-manager"
echo "== peers/kube-controller-manager: vet and build"
timeout 1800 go vet ./...
echo "== peers/kube-controller-manager: controller conformance specs against kube-controller-manager v1.37.2"
timeout 1200 go test -count=1 -timeout 15m ./...
