#!/usr/bin/env bash
# Installs Debian's chromium when it is absent: the report test
# (conformance/report) opens the HTML report in headless Chromium, takes a
# screenshot and reads the rendered DOM. Safe to run again: it does nothing
# when chromium is present. Needs root (apt-get); without root it only
# reports what is missing (the test then skips, saying so).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "install-chromium: chromium present"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: missing chromium; need root and apt-get to install it (apt-get install -y chromium); the report's browser test will skip" >&2
  exit 0
fi
exec "$(dirname "$0")/apt-install.sh" install-chromium chromium
