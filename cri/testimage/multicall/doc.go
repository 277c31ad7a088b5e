// Package multicall makes the clusterkit executable also the program of its own pod images:
// called as /pause, /ckimage or /clusterdns (a symlink to it in an image composed from the
// executable — kindlab's images when there is no source tree to build them from), it runs
// that program instead of the clusterkit command.
//
// What it costs against the small static binaries built from source (cmd/pause, cmd/ckimage):
// every process of the big executable first runs the initialisation of all the packages it
// links (Kubernetes' type registries among them): ≈ 35 ms of CPU and ≈ 80 MB of resident
// memory, most of it the executable's pages, shared between processes, against ≈ 0 ms and
// 11 MB (measured 2026-12-07 with GODEBUG=inittrace=1 and /usr/bin/time). Go initialises
// packages in import-path order once their imports are, and every importer of package net
// waits for the standard library's vendor/… packages, which sort last: a dispatch from an
// early init cannot skip that work, so it happens in main.
package multicall
