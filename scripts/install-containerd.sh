#!/usr/bin/env bash
# Installs containerd, runc, the CNI plugins, iptables and iproute2 from Debian's
# packages when any of them is absent, so the cri/ tests that run real
# containers can run. Safe to run again: it does nothing when all are present.
# Needs root (apt-get); without root it only reports what is missing.
set -euo pipefail

missing=()
command -v containerd >/dev/null 2>&1 || missing+=(containerd)
command -v runc >/dev/null 2>&1 || missing+=(runc)
[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || missing+=(iptables)
# ip (netns, routes) for the proxy's network-namespace labs and clusterkit up's guard route.
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-containerd: containerd, runc, CNI plugins, iptables and iproute2 present"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-containerd: missing ${missing[*]}; need root and apt-get to install (real-container tests will skip)" >&2
  exit 0
fi

exec "$(dirname "$0")/apt-install.sh" install-containerd "${missing[@]}"
