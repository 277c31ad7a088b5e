package kindlab

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestParseFile(t *testing.T) {
	cfg, err := ParseFile([]byte(`
apiVersion: clusterkit.io/v1alpha1
kind: Lab
name: ci
serviceSubnet: 10.97.0.0/16
nodes:
- role: control-plane
  labels: {tier: control}
- role: worker
  count: 2
- role: worker
  labels: {disk: ssd, example.com/zone: a}
  taints: ["dedicated=db:NoSchedule", "spot:PreferNoSchedule"]
  cpu: "1"
  memory: 2Gi
  pods: "50"
`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "ci" || cfg.ServiceCIDR != "10.97.0.0/16" || cfg.Nodes != 3 || len(cfg.Workers) != 3 {
		t.Fatalf("ParseFile = name %q, service %q, %d nodes, %d workers; want ci, 10.97.0.0/16, 3, 3", cfg.Name, cfg.ServiceCIDR, cfg.Nodes, len(cfg.Workers))
	}
	if cfg.ControlPlane.Labels["tier"] != "control" {
		t.Errorf("control-plane labels %v", cfg.ControlPlane.Labels)
	}
	if len(cfg.Workers[0].Labels)+len(cfg.Workers[0].Taints)+len(cfg.Workers[0].Capacity) != 0 {
		t.Errorf("plain worker shaped: %+v", cfg.Workers[0])
	}
	w := cfg.Workers[2]
	wantTaints := []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}, {Key: "spot", Effect: corev1.TaintEffectPreferNoSchedule}}
	if len(w.Taints) != 2 || w.Taints[0] != wantTaints[0] || w.Taints[1] != wantTaints[1] {
		t.Errorf("taints %v, want %v", w.Taints, wantTaints)
	}
	if w.Labels["example.com/zone"] != "a" || w.Labels["disk"] != "ssd" {
		t.Errorf("labels %v", w.Labels)
	}
	got := capacityOf(DefaultNodeCapacity(), w.Capacity)
	for name, want := range map[corev1.ResourceName]string{corev1.ResourceCPU: "1", corev1.ResourceMemory: "2Gi", corev1.ResourcePods: "50"} {
		if q := got[name]; q.Cmp(resource.MustParse(want)) != 0 {
			t.Errorf("capacity %s = %s, want %s", name, q.String(), want)
		}
	}
	if q := capacityOf(DefaultNodeCapacity(), nil)[corev1.ResourceCPU]; q.Cmp(resource.MustParse("2")) != 0 {
		t.Errorf("a node without its own capacity gets cpu %s, want the lab's default 2", q.String())
	}
}

func TestParseFileRejects(t *testing.T) {
	head := "apiVersion: clusterkit.io/v1alpha1\nkind: Lab\n"
	for _, c := range []struct{ name, file, want string }{
		{"unknown field", head + "nodes:\n- role: worker\n  gpus: 1\n", `unknown field "gpus"`},
		{"wrong apiVersion", "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Lab\nnodes: [{}]\n", "apiVersion: Unsupported value"},
		{"wrong kind", "apiVersion: clusterkit.io/v1alpha1\nkind: Cluster\nnodes: [{}]\n", "kind: Unsupported value"},
		{"bad role", head + "nodes:\n- role: master\n", "nodes[0].role: Unsupported value"},
		{"taint effect", head + "nodes:\n- taints: [\"a=b:NoRun\"]\n", "nodes[0].taints[0]"},
		{"taint without effect", head + "nodes:\n- taints: [\"a=b\"]\n", "KEY[=VALUE]:EFFECT"},
		{"bad label", head + "nodes:\n- labels: {\"-bad\": x}\n", "nodes[0].labels"},
		{"bad memory", head + "nodes:\n- memory: lots\n", "nodes[0].memory"},
		{"negative count", head + "nodes:\n- count: -1\n", "nodes[0].count"},
		{"too many control-plane nodes", head + "nodes:\n- role: control-plane\n  count: 6\n- role: worker\n", "1 to 5 control-plane nodes"},
		{"no workers", head + "nodes:\n- role: control-plane\n", "at least one worker"},
		{"relative replacement", head + "nodes: [{}]\nscheduler:\n  replace: my-scheduler\n", "scheduler.replace: Invalid value"},
		{"args without an executable", head + "nodes: [{}]\ncontrollerManager:\n  replace: none\n  args: [--v=2]\n", "controllerManager.args"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseFile([]byte(c.file))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ParseFile = %v; want an error holding %q", err, c.want)
			}
		})
	}
}

func TestParseFileComponentSwaps(t *testing.T) {
	cfg, err := ParseFile([]byte(`apiVersion: clusterkit.io/v1alpha1
kind: Lab
nodes: [{}]
scheduler:
  replace: /usr/local/bin/my-scheduler
  args: ["--kubeconfig=$(KUBECONFIG)"]
controllerManager:
  replace: none
`))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Scheduler.custom() || cfg.Scheduler.Replace != "/usr/local/bin/my-scheduler" || len(cfg.Scheduler.Args) != 1 {
		t.Errorf("scheduler: %+v, want the executable with its one argument", cfg.Scheduler)
	}
	if cfg.ControllerManager.Replace != ReplaceNone || cfg.ControllerManager.custom() {
		t.Errorf("controllerManager: %+v, want none", cfg.ControllerManager)
	}
	p := replacedComponent("kube-scheduler", "100m", cfg.Scheduler, "/lab/data/control-plane/scheduler.conf")
	c := p.Spec.Containers[0]
	if c.Image != componentImage("kube-scheduler") || c.Command[0] != "/kube-scheduler" || c.Args[0] != "--kubeconfig=$(KUBECONFIG)" ||
		len(c.Env) != 1 || c.Env[0].Value != "/lab/data/control-plane/scheduler.conf" || p.Spec.Volumes[0].HostPath.Path != "/lab/data/control-plane" {
		t.Errorf("the replaced scheduler's static pod: %+v, volumes %+v", c, p.Spec.Volumes)
	}
}
