package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Module is where the upstream binaries come from: the peers/e2e module of
// the clusterkit source tree, which requires k8s.io/kubernetes at the
// version clusterkit is built against.
const Module = "peers/e2e"

// Binaries are the upstream programs a run uses.
type Binaries struct {
	// Version is the Kubernetes version they were built from ("v1.37.2").
	Version string
	E2E     string
	Kubectl string
	Agnhost string
	// SampleAPIServer (k8s.io/sample-apiserver at the module's version) and Etcd (etcd's
	// own entry point, go.etcd.io/etcd/server/v3 at the main module's version) go into the
	// images of the Aggregator spec; "" when the binaries were given rather than built.
	SampleAPIServer string
	Etcd            string
}

// BuildOptions say where the binaries come from and where they are kept.
type BuildOptions struct {
	// SourceDir is the clusterkit source tree (default: found from the
	// working directory upwards).
	SourceDir string
	// CacheDir keeps built binaries between runs (default
	// $XDG_CACHE_HOME/clusterkit/upstream, else ~/.cache/clusterkit/upstream).
	CacheDir string
	// E2E, Kubectl and Agnhost, when set, are used as they are instead of
	// being built (for example a release's e2e.test and kubectl).
	E2E, Kubectl, Agnhost string
	// Go is the go command (default "go").
	Go string
	// Progress receives a line before and after each long step.
	Progress func(format string, args ...any)
}

// DefaultCacheDir is where built binaries are kept by default.
func DefaultCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "clusterkit", "upstream")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".cache", "clusterkit", "upstream")
	}
	return filepath.Join(os.TempDir(), "clusterkit-upstream")
}

// FindSourceDir returns the clusterkit source tree holding dir (or the
// working directory when dir is ""): the nearest parent with the peers/e2e
// module.
func FindSourceDir(dir string) (string, error) {
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, Module, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no clusterkit source tree (with %s/go.mod) at or above %s: run inside the source tree, "+
				"or pass --e2e-binary, --kubectl and --agnhost built elsewhere", Module, dir)
		}
	}
}

var kubernetesRequire = regexp.MustCompile(`(?m)^\s*(?:require\s+)?k8s\.io/kubernetes\s+(v[0-9][^\s]*)`)

// ModuleVersion reads the Kubernetes version peers/e2e requires.
func ModuleVersion(sourceDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(sourceDir, Module, "go.mod"))
	if err != nil {
		return "", err
	}
	m := kubernetesRequire.FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%s/go.mod does not require k8s.io/kubernetes", Module)
	}
	return string(m[1]), nil
}

// EnsureBinaries returns the upstream binaries, building (and caching)
// those not given. A cached binary is reused while peers/e2e's go.mod and
// go.sum are unchanged.
func EnsureBinaries(ctx context.Context, o BuildOptions) (*Binaries, error) {
	b := &Binaries{E2E: o.E2E, Kubectl: o.Kubectl, Agnhost: o.Agnhost}
	if b.E2E != "" && b.Kubectl != "" && b.Agnhost != "" {
		for _, p := range []string{b.E2E, b.Kubectl, b.Agnhost} {
			if _, err := os.Stat(p); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	pl, err := o.plan()
	if err != nil {
		return nil, err
	}
	b.Version = pl.version
	ldflags := versionLDFlags(pl.version)
	// All three are built as the kube-scheduler peer is (peers/e2e pins the
	// same module versions), so they share its compiled packages in the
	// build cache; agnhost goes into the images with the libraries it links
	// (BuildImages), so it need not be static.
	steps := []buildStep{
		{"e2e.test", &b.E2E, []string{"test", "-c", "-vet=off", "-ldflags", ldflags, "k8s.io/kubernetes/test/e2e"}, "≈ 7 min on 2 quiet cores the first time", false},
		kubectlStep(&b.Kubectl, ldflags),
		{"agnhost", &b.Agnhost, []string{"build", "k8s.io/kubernetes/test/images/agnhost"}, "≈ 1 min after e2e.test", false},
		{"sample-apiserver", &b.SampleAPIServer, []string{"build", "-ldflags", ldflags, "k8s.io/sample-apiserver"}, "≈ 1 min after e2e.test", false},
		{"etcd", &b.Etcd, []string{"build", "go.etcd.io/etcd/server/v3"}, "≈ 1 min", true},
	}
	for _, st := range steps {
		if *st.dst != "" {
			continue
		}
		if err := st.ensure(ctx, pl); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// buildPlan is where and from what the upstream binaries are built.
type buildPlan struct {
	// src is the clusterkit source tree, version the Kubernetes version peers/e2e requires,
	// stamp its dependency set, dir the cache directory of that version.
	src, version, stamp, dir string
	goCmd                    string
	say                      func(string, ...any)
}

// plan resolves o's defaults and creates the cache directory.
func (o BuildOptions) plan() (*buildPlan, error) {
	pl := &buildPlan{src: o.SourceDir, goCmd: o.Go, say: o.Progress}
	if pl.say == nil {
		pl.say = func(string, ...any) {}
	}
	if pl.goCmd == "" {
		pl.goCmd = "go"
	}
	var err error
	if pl.src == "" {
		if pl.src, err = FindSourceDir(""); err != nil {
			return nil, err
		}
	}
	if pl.version, err = ModuleVersion(pl.src); err != nil {
		return nil, err
	}
	if pl.stamp, err = moduleStamp(filepath.Join(pl.src, Module)); err != nil {
		return nil, err
	}
	cache := o.CacheDir
	if cache == "" {
		cache = DefaultCacheDir()
	}
	pl.dir = filepath.Join(cache, pl.version)
	if err := os.MkdirAll(pl.dir, 0o755); err != nil {
		return nil, err
	}
	return pl, nil
}

// buildStep builds one upstream binary into the cache.
type buildStep struct {
	name  string
	dst   *string
	args  []string
	guess string
	// root builds in the clusterkit module rather than peers/e2e.
	root bool
}

// kubectlStep builds kubectl, reporting the version of ldflags.
func kubectlStep(dst *string, ldflags string) buildStep {
	return buildStep{"kubectl", dst, []string{"build", "-ldflags", ldflags, "k8s.io/kubernetes/cmd/kubectl"}, "≈ 1 min after e2e.test, ≈ 3 min alone", false}
}

// ensure sets *st.dst to the cached binary in dir, building it first unless the cache holds
// one built from the same module stamp. The build goes to a file of its own and is renamed
// into place, so concurrent callers (test packages) never see a partial binary.
func (st buildStep) ensure(ctx context.Context, pl *buildPlan) error {
	out := filepath.Join(pl.dir, st.name)
	buildDir, stepStamp := filepath.Join(pl.src, Module), pl.stamp
	say := pl.say
	if st.root {
		buildDir = pl.src
		var err error
		if stepStamp, err = moduleStamp(pl.src); err != nil {
			return err
		}
	}
	if cached, _ := os.ReadFile(out + ".stamp"); string(cached) == stepStamp {
		if _, err := os.Stat(out); err == nil {
			*st.dst = out
			return nil
		}
	}
	say("building upstream %s %s from %s (%s; cached in %s)", st.name, pl.version, Module, st.guess, pl.dir)
	start := time.Now()
	tmp := fmt.Sprintf("%s.tmp%d", out, os.Getpid())
	args := append(append([]string{}, st.args[:1]...), append([]string{"-o", tmp}, st.args[1:]...)...)
	if err := runBuild(ctx, buildDir, pl.goCmd, args, nil, func(elapsed time.Duration) {
		say("still building %s (%s)", st.name, elapsed.Round(time.Second))
	}); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("building %s: %w", st.name, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	if err := os.WriteFile(out+".stamp", []byte(stepStamp), 0o644); err != nil {
		return err
	}
	say("built %s in %s", st.name, time.Since(start).Round(time.Second))
	*st.dst = out
	return nil
}

// versionLDFlags make the binaries report version (as a release build does),
// so e2e.test's version checks and kubectl version see a real version.
func versionLDFlags(version string) string {
	major, minor := "", ""
	if m := regexp.MustCompile(`^v(\d+)\.(\d+)`).FindStringSubmatch(version); m != nil {
		major, minor = m[1], m[2]
	}
	var flags []string
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X", pkg+".gitVersion="+version,
			"-X", pkg+".gitMajor="+major,
			"-X", pkg+".gitMinor="+minor,
			"-X", pkg+".gitTreeState=clean")
	}
	return strings.Join(flags, " ")
}

// moduleStamp identifies the module's dependency set.
func moduleStamp(dir string) (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// runBuild runs the go command in dir with env added, calling tick every
// minute it is still running.
func runBuild(ctx context.Context, dir, goCmd string, args, env []string, tick func(time.Duration)) error {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, tail(out.String(), 4000))
			}
			return nil
		case <-t.C:
			tick(time.Since(start))
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
