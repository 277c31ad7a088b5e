package kubectltest

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	testimage "github.com/clusterkit/clusterkit/cri/testimage/behavior"
)

// Run runs kubectl against kubeconfig and returns its standard output; a failure fails the test.
func Run(ctx context.Context, t testing.TB, kubectl, kubeconfig string, args ...string) string {
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

// Table splits kubectl's column output into rows of header → cell.
func Table(out string) []map[string]string {
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

// TourNode is a node the tour expects.
type TourNode struct {
	Name, IP     string
	ControlPlane bool
}

// TourCluster describes the cluster the seed's tour runs against.
type TourCluster struct {
	Kubeconfig string
	// Nodes are every node of the cluster, one of them the control-plane node.
	Nodes []TourNode
	// Runtime is how CONTAINER-RUNTIME begins on every node ("containerd://").
	Runtime string
	// AddOns are kube-system pods expected besides the control plane's, by name prefix
	// ("coredns-"); NodeAgents are those expected Running on every node ("kube-proxy-").
	AddOns, NodeAgents []string
}

// LabelControlPlane is kubeadm's role label and taint key of a control-plane node.
const LabelControlPlane = "node-role.kubernetes.io/control-plane"

// Tour runs the four commands of the seed's hands-on tour with the kubectl of clusterkit's
// Kubernetes version against c and asserts what the tour's prose promises of each.
func Tour(ctx context.Context, t *testing.T, c TourCluster) {
	// The kubectl of clusterkit's Kubernetes version, as a user's should be (within one minor).
	kubectl := Path(t)
	kc := c.Kubeconfig
	var cp *TourNode
	var workers []TourNode
	for i, n := range c.Nodes {
		if n.ControlPlane {
			cp = &c.Nodes[i]
		} else {
			workers = append(workers, n)
		}
	}
	if cp == nil || len(workers) == 0 {
		t.Fatal("the tour needs a control-plane node and a worker")
	}
	kernel, err := exec.CommandContext(ctx, "uname", "-r").Output()
	if err != nil {
		t.Fatal(err)
	}

	// kubectl get nodes -o wide: "internal IP, OS image, kernel version, and container runtime".
	nodes := Table(Run(ctx, t, kubectl, kc, "get", "nodes", "-o", "wide"))
	if len(nodes) != len(c.Nodes) {
		t.Fatalf("get nodes -o wide lists %d nodes, want %d: %v", len(nodes), len(c.Nodes), nodes)
	}
	byName := map[string]TourNode{}
	for _, n := range c.Nodes {
		byName[n.Name] = n
	}
	for _, row := range nodes {
		n, ok := byName[row["NAME"]]
		if !ok {
			t.Errorf("get nodes lists %q, not a node of the cluster", row["NAME"])
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
		if !strings.HasPrefix(row["CONTAINER-RUNTIME"], c.Runtime) || row["CONTAINER-RUNTIME"] == c.Runtime {
			t.Errorf("get nodes -o wide: node %s CONTAINER-RUNTIME = %q, want %s…", n.Name, row["CONTAINER-RUNTIME"], c.Runtime)
		}
	}

	// kubectl describe node: "Capacity and Allocatable … Conditions … MemoryPressure and
	// DiskPressure … the Allocated resources table".
	worker := workers[0].Name
	desc := Run(ctx, t, kubectl, kc, "describe", "node", worker)
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
	cpDesc := Run(ctx, t, kubectl, kc, "describe", "node", cp.Name)
	if !strings.Contains(cpDesc, LabelControlPlane+":NoSchedule") {
		t.Errorf("describe node %s: the control-plane node must be tainted %s:NoSchedule:\n%s", cp.Name, LabelControlPlane, cpDesc)
	}

	// kubectl get pods -n kube-system -o wide: "the components you just read about, running as
	// ordinary Pods … on a dedicated node that doesn't accept user workloads".
	pods := Table(Run(ctx, t, kubectl, kc, "get", "pods", "-n", "kube-system", "-o", "wide"))
	found := map[string]bool{}
	for _, row := range pods {
		for _, name := range []string{"etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager"} {
			if row["NAME"] == name+"-"+cp.Name {
				found[name] = true
				if row["NODE"] != cp.Name || row["STATUS"] != "Running" || row["IP"] != cp.IP {
					t.Errorf("kube-system pod %s: NODE %q STATUS %q IP %q, want %s Running %s", row["NAME"], row["NODE"], row["STATUS"], row["IP"], cp.Name, cp.IP)
				}
			}
		}
		for _, a := range c.AddOns {
			if strings.HasPrefix(row["NAME"], a) {
				found[a] = true
			}
		}
		for _, a := range c.NodeAgents {
			if strings.HasPrefix(row["NAME"], a) && row["STATUS"] == "Running" {
				found[a+" on "+row["NODE"]] = true
			}
		}
	}
	for _, n := range c.Nodes {
		for _, a := range c.NodeAgents {
			if !found[a+" on "+n.Name] {
				t.Errorf("get pods -n kube-system lists no Running %s pod on node %s: %v", a, n.Name, pods)
			}
		}
	}
	for _, a := range append([]string{"etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager"}, c.AddOns...) {
		if !found[a] {
			t.Errorf("get pods -n kube-system lists no %s pod: %v", a, pods)
		}
	}

	// "a dedicated node that doesn't accept user workloads": a Deployment's pods all go to the
	// workers.
	Run(ctx, t, kubectl, kc, "create", "deployment", "tour-spread", "--replicas=6", "--image="+testimage.TestImage,
		"--", testimage.TestBinary, "serve-hostname")
	deadline := time.Now().Add(3 * time.Minute)
	for {
		rows := Table(Run(ctx, t, kubectl, kc, "get", "pods", "-l", "app=tour-spread", "-o", "wide"))
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
	Run(ctx, t, kubectl, kc, "delete", "deployment", "tour-spread")
	// Not even a pod that asks for the control-plane node by name gets there without tolerating
	// its taint: it stays Pending, Unschedulable.
	Run(ctx, t, kubectl, kc, "run", "tour-pinned", "--image="+testimage.TestImage, "--restart=Never",
		`--overrides={"spec":{"nodeSelector":{"kubernetes.io/hostname":"`+cp.Name+`"}}}`, "--command", "--", testimage.TestBinary, "serve-hostname")
	for reason := ""; reason != "Unschedulable"; time.Sleep(time.Second) {
		reason = Run(ctx, t, kubectl, kc, "get", "pod", "tour-pinned", "-o", `jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}`)
		if node := Run(ctx, t, kubectl, kc, "get", "pod", "tour-pinned", "-o", "jsonpath={.spec.nodeName}"); node != "" {
			t.Fatalf("a pod selecting the control-plane node without tolerating its taint was placed on %s", node)
		}
		if time.Now().After(deadline) {
			t.Fatalf("a pod selecting the control-plane node is not reported Unschedulable (PodScheduled reason %q)", reason)
		}
	}
	Run(ctx, t, kubectl, kc, "delete", "pod", "tour-pinned", "--wait=false")

	// kubectl version: client and server "within one minor version of each other".
	var v struct {
		Client struct{ Major, Minor string } `json:"clientVersion"`
		Server struct{ Major, Minor string } `json:"serverVersion"`
	}
	if err := json.Unmarshal([]byte(Run(ctx, t, kubectl, kc, "version", "-o", "json")), &v); err != nil {
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
