#!/bin/sh
# Removes what proxy tests and `clusterkit conformance --components proxy` leave behind after a
# crash: every network namespace whose name starts with the prefix (default ckp-). Deleting a
# lab's namespaces removes its bridge, veths and nftables tables with them (they live inside).
# Usage: scripts/cleanup-netlabs.sh [PREFIX]
set -eu
prefix="${1:-ckp-}"
case "$prefix" in
  ''|*[!A-Za-z0-9_.-]*) echo "refusing prefix '$prefix'" >&2; exit 2 ;;
esac
n=0
for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
  case "$ns" in
    "$prefix"*) ip netns del "$ns" && n=$((n + 1)) ;;
  esac
done
echo "removed $n network namespaces with prefix $prefix"
