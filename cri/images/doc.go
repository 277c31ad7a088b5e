// Package images builds clusterkit's own container images with
// go-containerregistry: it compiles the project's Go programs (the test
// image program ckimage and the pause program) with CGO_ENABLED=0 and
// packages each as a single-layer OCI image (binary at /ckimage or /pause,
// set as entrypoint). It writes OCI image layout archives annotated with
// io.containerd.image.name, which containerd imports (see cri/containerd),
// and the same images can be pushed to the loopback registry
// (cri/registry).
package images
