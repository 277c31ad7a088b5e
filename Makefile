# clusterkit — `make test` runs every test; it installs what the tests need.
GO ?= go

.PHONY: test prerequisites vet fmt-check unit docs bench fuzz

test: prerequisites fmt-check vet unit

# Installs what the tests need that is not in the Go module cache: checks Go,
# and installs containerd, runc and the CNI plugins from Debian's packages
# when they are absent (the real-runtime tests skip, saying why, without them).
prerequisites:
	@scripts/prerequisites.sh
	@scripts/install-containerd.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 -timeout 30m ./...

# Regenerate the behaviour catalogue from the specs.
docs:
	$(GO) run ./cmd/clusterkit conformance catalogue > docs/behaviors.md

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./reference/store/...

fuzz:
	@echo "see docs/testing.md for the fuzz targets"
