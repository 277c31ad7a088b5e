package kindlab_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance/upstream/kubectltest"
	"github.com/clusterkit/clusterkit/cri/testimage/behavior"
	"github.com/clusterkit/clusterkit/kindlab"
)

// runKubectl runs kubectl against kubeconfig and returns its standard output.
func runKubectl(ctx context.Context, t *testing.T, kubectl, kubeconfig string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// table splits kubectl's column output into rows of header → cell.
func table(out string) []map[string]string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 {
		return nil
	}
	// Columns start where a header word starts; headers hold single spaces at most
	// ("NOMINATED NODE").
	header := lines[0]
	starts := []int{0}
	for _, m := range regexp.MustCompile(`\s{2,}\S`).FindAllStringIndex(header, -1) {
		starts = append(starts, m[1]-1)
	}
	cell := func(line string, i int) string {
		from := min(starts[i], len(line))
		to := len(line)
		if i+1 < len(starts) {
			to = min(starts[i+1], len(line))
		}
		return strings.TrimSpace(line[from:to])
	}
	var rows []map[string]string
	for _, l := range lines[1:] {
		row := map[string]string{}
		for i := range starts {
			row[cell(header, i)] = cell(l, i)
		}
		rows = append(rows, row)
	}
	return rows
}

// checkTour runs the four commands of the seed's hands-on tour with kubectl against a lab and
// asserts what the tour's prose promises of each.
func checkTour(ctx context.Context, t *testing.T, lab *kindlab.Lab) {
	// The kubectl of clusterkit's Kubernetes version, as a user's should be (within one minor).
	kubectl := kubectltest.Path(t)
	kc := lab.Kubeconfig
	cp := lab.ControlPlaneNode()
	if cp == nil {
		t.Fatal("the lab has no control-plane node")
	}
	kernel, err := exec.CommandContext(ctx, "uname", "-r").Output()
	if err != nil {
		t.Fatal(err)
	}

	// kubectl get nodes -o wide: "internal IP, OS image, kernel version, and container runtime".
	nodes := table(runKubectl(ctx, t, kubectl, kc, "get", "nodes", "-o", "wide"))
	if len(nodes) != len(lab.Nodes) {
		t.Fatalf("get nodes -o wide lists %d nodes, want %d: %v", len(nodes), len(lab.Nodes), nodes)
	}
	byName := map[string]kindlab.Node{}
	for _, n := range lab.Nodes {
		byName[n.Name] = n
	}
	for _, row := range nodes {
		n, ok := byName[row["NAME"]]
		if !ok {
			t.Errorf("get nodes lists %q, not a node of the lab", row["NAME"])
			continue
		}
		wantRole := "<none>"
		if n.ControlPlane {
			wantRole = "control-plane"
		}
		for col, want := range map[string]string{"STATUS": "Ready", "ROLES": wantRole, "INTERNAL-IP": n.IP,
			"KERNEL-VERSION": strings.TrimSpace(string(kernel))} {
			if row[col] != want {
				t.Errorf("get nodes -o wide: node %s %s = %q, want %q", n.Name, col, row[col], want)
			}
		}
		if v := row["OS-IMAGE"]; v == "" || v == "<unknown>" {
			t.Errorf("get nodes -o wide: node %s has no OS-IMAGE", n.Name)
		}
		if !strings.HasPrefix(row["CONTAINER-RUNTIME"], "containerd://") {
			t.Errorf("get nodes -o wide: node %s CONTAINER-RUNTIME = %q, want containerd://…", n.Name, row["CONTAINER-RUNTIME"])
		}
	}

	// kubectl describe node: "Capacity and Allocatable … Conditions … MemoryPressure and
	// DiskPressure … the Allocated resources table".
	worker := lab.Workers()[0].Name
	desc := runKubectl(ctx, t, kubectl, kc, "describe", "node", worker)
	for _, want := range []string{"Capacity:", "Allocatable:", "Conditions:", "MemoryPressure", "DiskPressure",
		"PIDPressure", "Allocated resources:", "Non-terminated Pods:", "Roles:", "Taints:"} {
		if !strings.Contains(desc, want) {
			t.Errorf("describe node %s lacks %q:\n%s", worker, want, desc)
		}
	}
	alloc := desc[strings.Index(desc, "Allocated resources:"):]
	for _, res := range []string{"cpu", "memory"} {
		if !regexp.MustCompile(`(?m)^\s+` + res + `\s+\S+ \(\d+%\)\s+\S+ \(\d+%\)`).MatchString(alloc) {
			t.Errorf("describe node %s: the Allocated resources table has no %s row of requests and limits:\n%s", worker, res, alloc)
		}
	}
	cpDesc := runKubectl(ctx, t, kubectl, kc, "describe", "node", cp.Name)
	if !strings.Contains(cpDesc, kindlab.LabelControlPlane+":NoSchedule") {
		t.Errorf("describe node %s: the control-plane node must be tainted %s:NoSchedule:\n%s", cp.Name, kindlab.LabelControlPlane, cpDesc)
	}

	// kubectl get pods -n kube-system -o wide: "the components you just read about, running as
	// ordinary Pods … on a dedicated node that doesn't accept user workloads".
	pods := table(runKubectl(ctx, t, kubectl, kc, "get", "pods", "-n", "kube-system", "-o", "wide"))
	found := map[string]bool{}
	for _, row := range pods {
		for _, c := range []string{"etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager"} {
			if row["NAME"] == c+"-"+cp.Name {
				found[c] = true
				if row["NODE"] != cp.Name || row["STATUS"] != "Running" || row["IP"] != cp.IP {
					t.Errorf("kube-system pod %s: NODE %q STATUS %q IP %q, want %s Running %s", row["NAME"], row["NODE"], row["STATUS"], row["IP"], cp.Name, cp.IP)
				}
			}
		}
		if strings.HasPrefix(row["NAME"], "coredns-") {
			found["coredns"] = true
		}
		if strings.HasPrefix(row["NAME"], "kube-proxy-") && row["STATUS"] == "Running" {
			found["kube-proxy on "+row["NODE"]] = true
		}
	}
	for _, n := range lab.Nodes {
		if !found["kube-proxy on "+n.Name] {
			t.Errorf("get pods -n kube-system lists no Running kube-proxy pod on node %s: %v", n.Name, pods)
		}
	}
	for _, c := range []string{"etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager", "coredns"} {
		if !found[c] {
			t.Errorf("get pods -n kube-system lists no %s pod: %v", c, pods)
		}
	}

	// "a dedicated node that doesn't accept user workloads": a Deployment's pods all go to the
	// workers.
	runKubectl(ctx, t, kubectl, kc, "create", "deployment", "tour-spread", "--replicas=6", "--image="+behavior.TestImage,
		"--", behavior.TestBinary, "serve-hostname")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		rows := table(runKubectl(ctx, t, kubectl, kc, "get", "pods", "-l", "app=tour-spread", "-o", "wide"))
		placed := 0
		for _, row := range rows {
			if row["NODE"] == cp.Name {
				t.Fatalf("pod %s of a user Deployment was placed on the control-plane node %s", row["NAME"], cp.Name)
			}
			if row["NODE"] != "" && row["NODE"] != "<none>" {
				placed++
			}
		}
		if placed == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Deployment's 6 pods were not all placed within 3 minutes: %v", rows)
		}
		time.Sleep(time.Second)
	}
	runKubectl(ctx, t, kubectl, kc, "delete", "deployment", "tour-spread")
	// Not even a pod that asks for the control-plane node by name gets there without tolerating
	// its taint: it stays Pending, Unschedulable.
	runKubectl(ctx, t, kubectl, kc, "run", "tour-pinned", "--image="+behavior.TestImage, "--restart=Never",
		`--overrides={"spec":{"nodeSelector":{"kubernetes.io/hostname":"`+cp.Name+`"}}}`, "--command", "--", behavior.TestBinary, "serve-hostname")
	for reason := ""; reason != "Unschedulable"; time.Sleep(time.Second) {
		reason = runKubectl(ctx, t, kubectl, kc, "get", "pod", "tour-pinned", "-o", `jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}`)
		if node := runKubectl(ctx, t, kubectl, kc, "get", "pod", "tour-pinned", "-o", "jsonpath={.spec.nodeName}"); node != "" {
			t.Fatalf("a pod selecting the control-plane node without tolerating its taint was placed on %s", node)
		}
		if time.Now().After(deadline) {
			t.Fatalf("a pod selecting the control-plane node is not reported Unschedulable (PodScheduled reason %q)", reason)
		}
	}
	runKubectl(ctx, t, kubectl, kc, "delete", "pod", "tour-pinned", "--wait=false")

	// kubectl version: client and server "within one minor version of each other".
	var v struct {
		Client struct{ Major, Minor string } `json:"clientVersion"`
		Server struct{ Major, Minor string } `json:"serverVersion"`
	}
	if err := json.Unmarshal([]byte(runKubectl(ctx, t, kubectl, kc, "version", "-o", "json")), &v); err != nil {
		t.Fatalf("kubectl version -o json: %v", err)
	}
	minor := func(s string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(s, "+"))
		return n
	}
	if v.Client.Major != v.Server.Major || abs(minor(v.Client.Minor)-minor(v.Server.Minor)) > 1 {
		t.Errorf("kubectl version: client %s.%s and server %s.%s are more than one minor apart", v.Client.Major, v.Client.Minor, v.Server.Major, v.Server.Minor)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
