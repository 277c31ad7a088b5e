package upstream

import (
	"regexp"
	"strings"
	"testing"
)

var texts = []string{
	"[sig-api-machinery] Namespaces [Serial] should ensure that all pods are removed when a namespace is deleted [Conformance]",
	"[sig-api-machinery] ResourceQuota should create a ResourceQuota and capture the life of a pod. [Conformance]",
	"[sig-apps] Deployment deployment should support rollover [Conformance]",
	"[sig-apps] DaemonSet should run and stop simple daemon [Conformance]",
	"[sig-apps] ReplicaSet should serve a basic image on each replica with a public image [Conformance]",
	"[sig-network] Services should serve a basic endpoint from pods [Conformance]",
	"[sig-network] EndpointSlice should have Endpoints and EndpointSlices pointing to API Server [Conformance]",
	"[sig-network] DNS should provide DNS for the cluster [Conformance]",
	"[sig-node] Pods should get a host IP [NodeConformance] [Conformance]",
	"[sig-node] PodTemplates should run the lifecycle of PodTemplates [Conformance]",
	"[sig-node] InitContainer [NodeConformance] should invoke init containers on a RestartNever pod [Conformance]",
	"[sig-node] Probing container should be restarted with a exec \"cat /tmp/health\" liveness probe [NodeConformance] [Conformance]",
	"[sig-scheduling] SchedulerPredicates [Serial] validates resource limits of pods that are allowed to run [Conformance]",
	"[sig-storage] ConfigMap should be consumable from pods in volume [NodeConformance] [Conformance]",
}

func TestSelectSeedAreas(t *testing.T) {
	areas, err := ResolveAreas([]string{"seed"})
	if err != nil {
		t.Fatal(err)
	}
	specs, err := Select(texts, nil, areas, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range specs {
		got[s.Text] = s.Area
	}
	want := map[string]string{
		texts[0]: "api-machinery", texts[1]: "api-machinery", texts[2]: "apps", texts[4]: "apps",
		texts[5]: "network", texts[6]: "network", texts[8]: "node", texts[10]: "node", texts[11]: "node",
		texts[12]: "scheduling",
	}
	if len(got) != len(want) {
		t.Errorf("selected %d specs, want %d: %v", len(got), len(want), got)
	}
	for text, area := range want {
		if got[text] != area {
			t.Errorf("%q: area %q, want %q", text, got[text], area)
		}
	}
	for _, s := range specs {
		if s.Serial != strings.Contains(s.Text, "[Serial]") {
			t.Errorf("%q: serial %v", s.Text, s.Serial)
		}
	}
}

func TestSelectFocusSkipAndSIGAreas(t *testing.T) {
	areas, err := ResolveAreas([]string{"storage", "network"})
	if err != nil {
		t.Fatal(err)
	}
	specs, err := Select(texts, map[string]bool{texts[13]: true}, areas, []string{"ConfigMap", "Services"}, []string{"basic endpoint"})
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 1 || specs[0].Text != texts[13] || specs[0].Area != "storage" || !specs[0].Serial {
		t.Fatalf("got %+v, want only the storage ConfigMap spec, serial by label", specs)
	}
	if _, err := ResolveAreas([]string{"no such area!"}); err == nil {
		t.Error("a malformed area name was accepted")
	}
	if _, err := Select(texts, nil, nil, []string{"("}, nil); err == nil {
		t.Error("a bad focus expression was accepted")
	}
	all, _ := ResolveAreas([]string{"all"})
	if specs, _ := Select(texts, nil, all, nil, nil); len(specs) != len(texts) {
		t.Errorf("area all selected %d of %d", len(specs), len(texts))
	}
}

func TestFocusMatchesExactlyItsSpecs(t *testing.T) {
	specs := []Spec{{Text: texts[11]}, {Text: texts[2]}}
	re := regexp.MustCompile(focusFor(specs))
	for _, tx := range texts {
		want := tx == texts[11] || tx == texts[2]
		if re.MatchString(tx) != want {
			t.Errorf("focus matches %q: %v, want %v", tx, !want, want)
		}
	}
	if re.MatchString(texts[2]+" and more") || re.MatchString("x"+texts[2]) {
		t.Error("focus is not anchored")
	}
	if !re.MatchString("Kubernetes e2e suite " + texts[2]) {
		t.Error("focus does not match as Ginkgo matches: the suite description, a space, the spec text")
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		r    SpecResult
		want string
	}{
		{SpecResult{State: "failed", Message: `creating ResourceQuota: the server could not find the requested resource (post resourcequotas)`}, "resource not served (404): resourcequotas"},
		{SpecResult{State: "failed", Message: `the server could not find the requested resource (get flowschemas.flowcontrol.apiserver.k8s.io)`}, "resource not served (404): flowschemas.flowcontrol.apiserver.k8s.io"},
		{SpecResult{State: "failed", Message: "creating role binding webhook-6391:webhook to access configMap: the server could not find the requested resource"}, "resource not served (404): creating role binding webhook-N to access configMap"},
		{SpecResult{State: "failed", Message: "dial tcp: lookup dns-test-service on 10.96.0.10:53: no such host"}, "cluster DNS: a name did not resolve"},
		{SpecResult{State: "not run"}, "e2e.test exited without reporting the spec (crash or timeout of its process)"},
		{SpecResult{State: "panicked", Message: "panic: runtime error: index out of range [3] with length 2\nmore"}, "e2e.test panicked: runtime error: index out of range [N] with length N"},
		{SpecResult{State: "failed", Message: `expected pod "pod-1234-abcde" to be Running, got 3 restarts after 5m0s`},
			`expected pod "…" to be Running, got N restarts after N`},
	} {
		if got := classify(c.r); got != c.want {
			t.Errorf("classify(%q) = %q, want %q", c.r.Message, got, c.want)
		}
	}
	a := classify(SpecResult{State: "failed", Message: "Timed out after 300.000s waiting for pod-x-1a2b3"})
	b := classify(SpecResult{State: "failed", Message: "Timed out after 120.5s waiting for pod-y-9z8y7"})
	if a != b {
		t.Errorf("same cause, different groups: %q vs %q", a, b)
	}
}

func TestTable(t *testing.T) {
	areas := SeedAreas()
	res := &Result{Specs: []SpecResult{
		{Spec: Spec{Area: "node"}, State: "passed"},
		{Spec: Spec{Area: "node"}, State: "failed"},
		{Spec: Spec{Area: "node"}, State: "not run"},
		{Spec: Spec{Area: "apps"}, State: "skipped"},
		{Spec: Spec{Area: "sig-storage"}, State: "passed"},
	}}
	rows := res.Table(areas)
	byArea := map[string]AreaCount{}
	for _, r := range rows {
		byArea[r.Area] = r
	}
	if n := byArea["node"]; n.Selected != 3 || n.Passed != 1 || n.Failed != 2 {
		t.Errorf("node row %+v", n)
	}
	if a := byArea["apps"]; a.Selected != 1 || a.Skipped != 1 {
		t.Errorf("apps row %+v", a)
	}
	if tot := rows[len(rows)-1]; tot.Area != "total" || tot.Selected != 5 || tot.Passed != 2 || tot.Failed != 2 || tot.Skipped != 1 {
		t.Errorf("total row %+v", tot)
	}
	if rows[0].Area != "scheduling" || rows[len(rows)-2].Area != "sig-storage" {
		t.Errorf("row order %v", rows)
	}
}

func TestClassifyJoinsGomegasShortFirstLines(t *testing.T) {
	a := classify(SpecResult{State: "failed", Message: "Expected\n    <string>: \"\"\nto equal\n    <string>: \"DONE\""})
	b := classify(SpecResult{State: "failed", Message: "Timed out after 30.001s.\nExpected pod to be ready"})
	if a == "Expected" || !strings.Contains(a, "to equal") {
		t.Errorf("Expected-message cause %q says nothing", a)
	}
	if !strings.Contains(b, "pod to be ready") {
		t.Errorf("timeout cause %q says nothing", b)
	}
	if c := classify(SpecResult{State: "failed", Message: "creating pod: deadline exceeded while waiting for the pod to start"}); c != "creating pod: deadline exceeded while waiting for the pod to start" {
		t.Errorf("a one-line message became %q", c)
	}
}
