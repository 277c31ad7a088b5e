// Package simruntime is a simulated CRI runtime: it serves the real
// RuntimeService and ImageService gRPC APIs (k8s.io/cri-api) on a socket
// you give it, and its containers behave like processes of clusterkit's test
// image — start latency, exit codes, exits after a delay, HTTP answers,
// liveness failures, logs and exec — as decided by package behavior from the
// image and the command, so one pod spec behaves alike here and on
// containerd with the real test image.
//
// Each pod sandbox gets an IP in a loopback subnet (Options.PodSubnet,
// inside 127.0.0.0/8), and serve-hostname/liveness containers really listen
// on it, so HTTP and TCP probes, Services and clients reach simulated pods
// exactly as they reach real ones. With Options.PodNetwork (a CNI plugin's
// role, e.g. reference/proxy/netlab's PodNetwork) sandboxes get real network
// namespaces instead: the pod IP is the namespace's, servers listen inside
// it and exec commands (fetch, healthz, post) connect from inside it, so a
// service proxy's kernel rules apply to simulated pods; RemovePodSandbox and
// Close delete the namespaces. Exec probes go through ExecSync; Exec
// returns a URL on a loopback streaming server speaking the remote-command
// protocols (SPDY v2–v4, WebSocket v4/v5). Logs are written in the CRI log
// format to the path the kubelet asks for.
//
// Images other than the test and pause images pull instantly (unless
// Options.ImageFailures says otherwise) and their containers run until
// stopped, or act out simple shell commands (echo, sleep, exit N), so
// arbitrary manifests run on simulated nodes.
//
// Memory per sandbox and container is a few hundred bytes plus, for
// containers serving HTTP, one listener and its goroutine.
package simruntime
