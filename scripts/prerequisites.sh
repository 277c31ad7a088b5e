#!/usr/bin/env bash
# Installs what clusterkit's tests need and checks the toolchain. Safe to run
# again: it only installs what is missing.
set -euo pipefail
need_go="1.26"
if ! command -v go >/dev/null; then
  echo "clusterkit needs Go ${need_go} or newer on PATH (https://go.dev/dl); it was not found." >&2
  exit 1
fi
have=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$need_go" "$have" | sort -V | head -1)" != "$need_go" ]; then
  echo "clusterkit needs Go ${need_go} or newer; found ${have}." >&2
  exit 1
fi
echo "prerequisites: go ${have} ok"
