// Package kubectltest gives tests the kubectl of the Kubernetes version clusterkit is built
// against (upstream.EnsureKubectl: $CLUSTERKIT_KUBECTL, else the cached build of peers/e2e's
// kubectl, built when missing). The servers under test report that version, and kubectl
// supports one minor of skew, so the kubectl found on PATH is not used.
package kubectltest
