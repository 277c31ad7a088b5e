package kindlab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// ExportLogs writes into dir what it takes to understand a lab after a failed CI job, as
// kind export logs does: the lab's record (lab.json), and for each node its agent's log
// (NODE/agent.log: the kubelet's lines and the agent's own), its containerd's log
// (NODE/containerd.log) and the log files of every container that ran on it
// (NODE/pods/NAMESPACE_POD_UID/CONTAINER/N.log — the control plane's static pods included);
// then, through the API, the cluster's state as `kubectl get -A -o yaml` shows it
// (cluster/nodes.yaml, pods, events, services, endpointslices, deployments, replicasets,
// daemonsets). Secrets, tokens, keys and volume contents are never copied.
//
// What cannot be read (a node that never started, an API server that is down) is reported
// through say and in dir/export-errors.txt, and the rest is still written: a broken lab is
// when logs matter most. The error is for dir itself not being writable.
func (l *Lab) ExportLogs(ctx context.Context, dir string, say func(format string, args ...any)) error {
	if say == nil {
		say = func(string, ...any) {}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	var problems []string
	note := func(err error) {
		problems = append(problems, err.Error())
		say("  not exported: %v", err)
	}
	if err := copyFile(filepath.Join(l.Dir, "lab.json"), filepath.Join(dir, "lab.json"), 0o644); err != nil {
		note(err)
	}
	if l.LoadBalancerIP != "" { // an HA lab's API address
		if err := copyFile(filepath.Join(l.Dir, "logs", "load-balancer.log"), filepath.Join(dir, "load-balancer.log"), 0o644); err != nil {
			note(fmt.Errorf("the load balancer's log: %w", err))
		}
	}
	for _, n := range l.Nodes {
		nodeDir := filepath.Join(dir, n.Name)
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", nodeDir, err)
		}
		if err := copyFile(filepath.Join(l.Dir, "logs", n.Name+".log"), filepath.Join(nodeDir, "agent.log"), 0o644); err != nil {
			note(fmt.Errorf("node %s agent log: %w", n.Name, err))
		}
		if err := copyFile(l.containerdLog(n), filepath.Join(nodeDir, "containerd.log"), 0o644); err != nil {
			note(fmt.Errorf("node %s containerd log: %w", n.Name, err))
		}
		count, err := copyLogTree(filepath.Join(l.Dir, "data", n.Name, "kubelet", "pods"), filepath.Join(nodeDir, "pods"))
		if err != nil {
			note(fmt.Errorf("node %s container logs: %w", n.Name, err))
		}
		say("node %s: agent, containerd and %d container logs", n.Name, count)
	}
	if err := l.exportState(ctx, filepath.Join(dir, "cluster"), say); err != nil {
		note(fmt.Errorf("cluster state through the API: %w", err))
	}
	errFile := filepath.Join(dir, "export-errors.txt")
	if len(problems) == 0 {
		_ = os.Remove(errFile)
		return nil
	}
	return os.WriteFile(errFile, []byte(strings.Join(problems, "\n")+"\n"), 0o644)
}

// containerdLog is the log file of a node's containerd: next to its socket while the node
// runs (the socket may be in a temporary directory), else in the node's data directory.
func (l *Lab) containerdLog(n Node) string {
	if addr, err := l.containerdAddress(n); err == nil {
		return filepath.Join(filepath.Dir(addr), "containerd.log")
	}
	return filepath.Join(l.Dir, "data", n.Name, "containerd", "containerd.log")
}

// exportState writes the cluster's objects, one YAML list per resource, as the lab's admin
// sees them.
func (l *Lab) exportState(ctx context.Context, dir string, say func(string, ...any)) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", l.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.Timeout = 20 * time.Second
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	all := metav1.ListOptions{}
	lists := []struct {
		file string
		list func() (runtime.Object, error)
	}{
		{"nodes", func() (runtime.Object, error) { return c.CoreV1().Nodes().List(ctx, all) }},
		{"pods", func() (runtime.Object, error) { return c.CoreV1().Pods("").List(ctx, all) }},
		{"events", func() (runtime.Object, error) { return c.CoreV1().Events("").List(ctx, all) }},
		{"services", func() (runtime.Object, error) { return c.CoreV1().Services("").List(ctx, all) }},
		{"endpointslices", func() (runtime.Object, error) { return c.DiscoveryV1().EndpointSlices("").List(ctx, all) }},
		{"deployments", func() (runtime.Object, error) { return c.AppsV1().Deployments("").List(ctx, all) }},
		{"replicasets", func() (runtime.Object, error) { return c.AppsV1().ReplicaSets("").List(ctx, all) }},
		{"daemonsets", func() (runtime.Object, error) { return c.AppsV1().DaemonSets("").List(ctx, all) }},
	}
	var errs []error
	written := 0
	for _, x := range lists {
		obj, err := x.list()
		if err != nil {
			errs = append(errs, fmt.Errorf("listing %s: %w", x.file, err))
			var opErr *net.OpError
			if errors.As(err, &opErr) {
				break // the API server cannot be reached: the other lists would wait as long for nothing
			}
			continue
		}
		b, err := yaml.Marshal(asList(obj))
		if err != nil {
			errs = append(errs, fmt.Errorf("encoding %s: %w", x.file, err))
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, x.file+".yaml"), b, 0o644); err != nil {
			return err
		}
		written++
	}
	if written > 0 {
		say("cluster state: %d of %d resources", written, len(lists))
	}
	return errors.Join(errs...)
}

// asList is obj (a typed list) as `kubectl get -o yaml` prints it: kind List, and each item
// with its apiVersion and kind.
func asList(obj runtime.Object) any {
	items, err := meta.ExtractList(obj)
	if err != nil {
		return obj
	}
	for _, o := range items {
		if gvks, _, err := clientgoscheme.Scheme.ObjectKinds(o); err == nil && len(gvks) > 0 {
			o.GetObjectKind().SetGroupVersionKind(gvks[0])
		}
	}
	return map[string]any{"apiVersion": "v1", "kind": "List", "items": items}
}

// copyLogTree copies the *.log regular files under from (container logs) to the same paths
// under to, and nothing else: pod directories also hold volumes (Secrets, tokens). A
// missing from is no error (a node that ran no pod). It returns how many files it copied.
func copyLogTree(from, to string) (int, error) {
	n := 0
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == from {
				return filepath.SkipDir
			}
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		parts := strings.Split(rel, string(filepath.Separator))
		if d.IsDir() {
			// NAMESPACE_POD_UID/CONTAINER holds logs; UID/volumes/… holds a pod's volumes.
			if rel != "." && (strings.Count(parts[0], "_") < 2 || len(parts) > 2) {
				return filepath.SkipDir
			}
			return nil
		}
		if len(parts) != 3 || !d.Type().IsRegular() || !containerLogName(d.Name()) {
			return nil
		}
		if err := copyFile(path, filepath.Join(to, rel), 0o644); err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// containerLogName: the kubelet names a container's logs N.log (the restart count).
func containerLogName(name string) bool {
	n, ok := strings.CutSuffix(name, ".log")
	if !ok || n == "" {
		return false
	}
	for _, r := range n {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
