#!/usr/bin/env bash
# apt-install.sh NAME PACKAGE...: installs Debian packages for the script
# NAME (install-containerd, install-upstream-deps), refreshing the package
# lists only when the packages cannot be found without it. Run by those
# scripts (exec) once they know what is missing; needs root.
set -euo pipefail
name="$1"
shift
export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y --no-install-recommends "$@" >/dev/null; }
if ! apt-cache show "$@" >/dev/null 2>&1 || ! install "$@"; then
	apt-get update >/dev/null
	install "$@"
fi
echo "$name: installed $*"
