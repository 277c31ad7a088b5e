package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestVersionReportsOneVersion(t *testing.T) {
	var out bytes.Buffer
	if err := runVersion(context.Background(), &versionOptions{output: "json"}, &out); err != nil {
		t.Fatal(err)
	}
	var rep versionReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.HasPrefix(rep.ClientVersion.GitVersion, "v1.") || rep.ClientVersion.GitCommit == "" {
		t.Errorf("client version %+v", rep.ClientVersion)
	}
	for _, c := range components {
		if rep.Components[c] != rep.ClientVersion.GitVersion {
			t.Errorf("component %s reports %q, client %q", c, rep.Components[c], rep.ClientVersion.GitVersion)
		}
	}
	out.Reset()
	if err := runVersion(context.Background(), &versionOptions{output: "yaml"}, &out); err != nil || !strings.Contains(out.String(), "gitVersion: "+rep.ClientVersion.GitVersion) {
		t.Errorf("yaml: %v\n%s", err, out.String())
	}
	if err := runVersion(context.Background(), &versionOptions{output: "xml"}, &out); err == nil {
		t.Error("-o xml accepted")
	}
}

func TestSkewWarnings(t *testing.T) {
	got := skewWarnings("v1.37.2", "v1.33.0", map[string]string{"old": "v1.29.9", "ok": "v1.31.0", "new": "v1.37.2-clusterkit", "bad": "x"})
	want := []string{"clusterkit v1.37.2 is more than one minor", "node bad:", "node new: kubelet v1.37.2-clusterkit is newer", "node old: kubelet v1.29.9 is more than three minors older"}
	if len(got) != len(want) {
		t.Fatalf("warnings %q", got)
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("warning %d = %q, want %q", i, got[i], want[i])
		}
	}
	if w := skewWarnings("v1.37.2", "v1.37.2", map[string]string{"n": "v1.34.0"}); len(w) != 0 {
		t.Errorf("in skew: %q", w)
	}
}
