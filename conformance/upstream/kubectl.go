package upstream

import (
	"context"
	"os"
)

// KubectlEnv names a kubectl that EnsureKubectl returns as it is, instead of the built one.
const KubectlEnv = "CLUSTERKIT_KUBECTL"

// EnsureKubectl returns the kubectl of the Kubernetes version clusterkit is built against
// (peers/e2e's k8s.io/kubernetes, v1.37.2): $CLUSTERKIT_KUBECTL when set, else o.Kubectl when
// set, else the one EnsureBinaries builds into the cache, building only kubectl when it is
// missing (≈ 3 minutes on 2 cores with a cold build cache; the first run also downloads
// peers/e2e's modules). It is what the project's kubectl-driven tests and scripts run: the
// kubectl found on PATH may be of another minor (kubectl supports one minor of skew).
func EnsureKubectl(ctx context.Context, o BuildOptions) (string, error) {
	for _, p := range []string{os.Getenv(KubectlEnv), o.Kubectl} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return "", err
		}
		return p, nil
	}
	pl, err := o.plan()
	if err != nil {
		return "", err
	}
	var path string
	if err := kubectlStep(&path, versionLDFlags(pl.version)).ensure(ctx, pl); err != nil {
		return "", err
	}
	return path, nil
}
