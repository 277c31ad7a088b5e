package version

import (
	"os"
	"regexp"
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.0",
		Deps: []*debug.Module{
			{Path: "k8s.io/apimachinery", Version: "v0.36.0"},
			{Path: "k8s.io/client-go", Version: "v0.37.2"}, // client-go wins wherever it is
		},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0e1575b0123"},
			{Key: "vcs.modified", Value: "true"},
			{Key: "vcs.time", Value: "2026-12-06T10:00:00Z"},
		},
	}
	got := FromBuildInfo(bi)
	if got.GitVersion != "v1.37.2" || got.Major != "1" || got.Minor != "37" {
		t.Errorf("version %q major %q minor %q, want v1.37.2 1 37", got.GitVersion, got.Major, got.Minor)
	}
	if got.GitCommit != "0e1575b0123" || got.GitTreeState != "dirty" || got.BuildDate != "2026-12-06T10:00:00Z" {
		t.Errorf("commit %q tree %q date %q", got.GitCommit, got.GitTreeState, got.BuildDate)
	}
	if got.GoVersion != "go1.26.0" || got.EmulationMinor != "37" || got.MinCompatibilityMinor != "36" {
		t.Errorf("go %q emulation %q mincompat %q", got.GoVersion, got.EmulationMinor, got.MinCompatibilityMinor)
	}
}

func TestFromBuildInfoWithoutVCS(t *testing.T) {
	got := FromBuildInfo(nil)
	if got.GitVersion != Fallback || got.GitCommit != Unknown || got.GitTreeState != "" {
		t.Errorf("got %+v", got)
	}
	bi := &debug.BuildInfo{Deps: []*debug.Module{{Path: "k8s.io/client-go", Version: "v0.37.2",
		Replace: &debug.Module{Path: "../client-go", Version: ""}}}}
	if got := FromBuildInfo(bi); got.GitVersion != "v1.37.2" {
		t.Errorf("replaced without version: %q", got.GitVersion)
	}
}

func TestFallbackMatchesGoMod(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/client-go\s+(v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod does not require k8s.io/client-go")
	}
	want, ok := KubernetesVersion(string(m[1]))
	if !ok || want != Fallback {
		t.Fatalf("Fallback %q, but go.mod requires k8s.io/client-go %s (%s): update Fallback", Fallback, m[1], want)
	}
	// A test binary carries no dependency list: Get falls back, and still parses.
	if _, _, ok := MajorMinor(Get().GitVersion); !ok {
		t.Fatalf("Get().GitVersion %q does not parse", Get().GitVersion)
	}
}

func TestKubernetesVersion(t *testing.T) {
	for in, want := range map[string]string{"v0.37.2": "v1.37.2", "v0.38.0-alpha.1": "v1.38.0-alpha.1", "v1.2.3": "", "devel": ""} {
		got, ok := KubernetesVersion(in)
		if got != want || ok != (want != "") {
			t.Errorf("KubernetesVersion(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for in, want := range map[string][2]int{"v1.37.2": {1, 37}, "v1.37.2-clusterkit": {1, 37}, "v1.30.0+abc": {1, 30}} {
		ma, mi, ok := MajorMinor(in)
		if !ok || ma != want[0] || mi != want[1] {
			t.Errorf("MajorMinor(%q) = %d %d %v", in, ma, mi, ok)
		}
	}
	if _, _, ok := MajorMinor("1.37"); ok {
		t.Error("MajorMinor(1.37) parsed")
	}
}
