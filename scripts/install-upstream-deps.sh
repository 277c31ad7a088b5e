#!/usr/bin/env bash
# Installs, from Debian's packages, what `clusterkit conformance upstream`
# composes the e2e images from when it is absent: a static busybox (the
# images' shell and applets), openbsd netcat and curl (inside agnhost, as
# upstream's image has them). Safe to run again: it does nothing when all
# are present. Needs root (apt-get); without root it only reports.
set -euo pipefail

missing=()
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 && ! ldd /bin/busybox >/dev/null 2>&1 || missing+=(busybox-static)
[ -x /bin/nc.openbsd ] || missing+=(netcat-openbsd)
[ -x /usr/bin/curl ] || missing+=(curl)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-upstream-deps: busybox-static, netcat-openbsd and curl present"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-upstream-deps: missing ${missing[*]}; need root and apt-get to install" >&2
  exit 1
fi
exec "$(dirname "$0")/apt-install.sh" install-upstream-deps "${missing[@]}"
