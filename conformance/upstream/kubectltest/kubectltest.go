package kubectltest

import (
	"context"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance/upstream"
)

// buildTimeout bounds building kubectl when it is not cached.
const buildTimeout = 15 * time.Minute

// Path returns the kubectl to run, building it first when it is not cached; a build that
// fails fails the test.
func Path(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	path, err := upstream.EnsureKubectl(ctx, upstream.BuildOptions{Progress: func(format string, args ...any) {
		t.Logf(format, args...)
	}})
	if err != nil {
		t.Fatalf("kubectl %s: %v (set %s to use another kubectl)", "of peers/e2e", err, upstream.KubectlEnv)
	}
	return path
}
