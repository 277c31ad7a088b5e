# clusterkit — `make test` runs every test; it installs what the tests need.
GO ?= go

.PHONY: test prerequisites vet fmt-check unit peers upstream-slice upstream docs bench fuzz

test: prerequisites fmt-check vet unit peers upstream-slice

# Installs what the tests need that is not in the Go module cache: checks Go,
# and installs containerd, runc and the CNI plugins from Debian's packages
# when they are absent (the real-runtime tests skip, saying why, without them),
# and what the upstream e2e images are composed from (busybox-static,
# netcat-openbsd, curl), and chromium (the HTML report's test opens it in
# headless Chromium). Then builds, once, the kubectl of clusterkit's
# Kubernetes version that the kubectl-driven tests run (cached in
# ~/.cache/clusterkit/upstream), so that parallel test packages do not each
# build it.
prerequisites:
	@scripts/prerequisites.sh
	@scripts/install-containerd.sh
	@scripts/install-upstream-deps.sh
	@scripts/install-chromium.sh
	@$(GO) run ./cmd/clusterkit conformance kubectl

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The proxy tests build network namespaces (ckp-*); they remove them as they
# go, and this removes what a killed or failed run left, before and after.
unit:
	@scripts/cleanup-netlabs.sh
	@status=0; $(GO) test -count=1 -timeout 30m ./... || status=$$?; scripts/cleanup-netlabs.sh; exit $$status

# The peer modules (real Kubernetes components as libraries, in their own
# go.mod): the scheduler specs against the real kube-scheduler.
peers:
	scripts/test-peers.sh

# The CI-sized slice of the upstream Kubernetes conformance suite (e2e.test)
# against a 2-node lab: a few fast specs of each seed area; the first run
# builds e2e.test (≈ 7 min on 2 cores, cached afterwards).
upstream-slice:
	scripts/upstream-slice.sh

# Every upstream conformance spec of the seed's areas against a fresh lab
# (≈ 20–30 min; not part of make test). Results in upstream-results/full.
upstream:
	scripts/upstream-slice.sh --full

# Regenerate the behaviour catalogue from the specs.
docs:
	$(GO) run ./cmd/clusterkit conformance catalogue > docs/behaviors.md

# The store benchmarks (memory, etcd store, raw clientv3 side by side); the
# other benchmarks and their commands are listed in docs/testing.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./reference/store/...

# Each fuzz target for a minute (go test allows one -fuzz target per run).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzValidatePod -fuzztime 60s ./reference/apiserver/validation
	$(GO) test -run '^$$' -fuzz FuzzValidateDeployment -fuzztime 60s ./reference/apiserver/validation
	$(GO) test -run '^$$' -fuzz FuzzCreateBody -fuzztime 60s ./reference/apiserver
	$(GO) test -run '^$$' -fuzz FuzzPatch -fuzztime 60s ./reference/apiserver
	$(GO) test -run '^$$' -fuzz FuzzSelectors -fuzztime 60s ./reference/apiserver
