package kubelet

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func envMap(env []corev1.EnvVar) map[string]string {
	m := map[string]string{}
	for _, e := range env {
		m[e.Name] = e.Value
	}
	return m
}

func TestExpandOne(t *testing.T) {
	vals := map[string]string{"A": "1", "B": "two"}
	for in, want := range map[string]string{
		"$(A)-$(B)":  "1-two",
		"$$(A)":      "$(A)",
		"$$$(A)":     "$1",
		"$(MISSING)": "$(MISSING)",
		"$(A":        "$(A",
		"a$b":        "a$b",
		"end$":       "end$",
		"$(A)$(A)":   "11",
	} {
		if got := expandOne(in, vals); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
	if got := expand([]string{"echo", "$(A)", "$$(A)"}, []corev1.EnvVar{{Name: "A", Value: "x"}}); got[1] != "x" || got[2] != "$(A)" {
		t.Errorf("command expansion %q", got)
	}
}

func TestServiceEnv(t *testing.T) {
	ctx := context.Background()
	k, client, _ := volumeKubelet(t)
	svc := func(ns, name, ip string, ports ...corev1.ServicePort) {
		_, err := client.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.ServiceSpec{ClusterIP: ip, Ports: ports}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	svc("ns", "foo-svc", "10.0.0.10", corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}, corev1.ServicePort{Name: "dns-udp", Port: 53, Protocol: corev1.ProtocolUDP})
	svc("ns", "headless", corev1.ClusterIPNone, corev1.ServicePort{Port: 80})
	svc("other", "bar", "10.0.0.11", corev1.ServicePort{Port: 80})
	pod := volumePod()
	c := &corev1.Container{Name: "c", Env: []corev1.EnvVar{{Name: "FOO_SVC_SERVICE_PORT", Value: "mine"}}}
	env, err := k.envFor(ctx, pod, c, "")
	if err != nil {
		t.Fatal(err)
	}
	got := envMap(env)
	for name, want := range map[string]string{
		"FOO_SVC_SERVICE_HOST": "10.0.0.10", "FOO_SVC_SERVICE_PORT": "mine", "FOO_SVC_SERVICE_PORT_HTTP": "80",
		"FOO_SVC_SERVICE_PORT_DNS_UDP": "53", "FOO_SVC_PORT": "tcp://10.0.0.10:80",
		"FOO_SVC_PORT_80_TCP": "tcp://10.0.0.10:80", "FOO_SVC_PORT_80_TCP_PROTO": "tcp", "FOO_SVC_PORT_80_TCP_PORT": "80",
		"FOO_SVC_PORT_80_TCP_ADDR": "10.0.0.10", "FOO_SVC_PORT_53_UDP": "udp://10.0.0.10:53", "FOO_SVC_PORT_53_UDP_PROTO": "udp",
		"KUBERNETES_SERVICE_HOST": "10.96.0.1",
	} {
		if got[name] != want {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
	for _, absent := range []string{"HEADLESS_SERVICE_HOST", "BAR_SERVICE_HOST"} {
		if _, ok := got[absent]; ok {
			t.Errorf("%s set", absent)
		}
	}
	// enableServiceLinks false: only the kubernetes Service's variables.
	pod.Spec.EnableServiceLinks = ptr.To(false)
	env, err = k.envFor(ctx, pod, &corev1.Container{Name: "c"}, "")
	if err != nil {
		t.Fatal(err)
	}
	got = envMap(env)
	if _, ok := got["FOO_SVC_SERVICE_HOST"]; ok || got["KUBERNETES_SERVICE_HOST"] != "10.96.0.1" {
		t.Errorf("enableServiceLinks false: %v", got)
	}
	// A Service named kubernetes in the pod's namespace takes the place of default's.
	pod.Spec.EnableServiceLinks = nil
	svc("ns", "kubernetes", "10.0.0.99", corev1.ServicePort{Port: 8443})
	env, _ = k.envFor(ctx, pod, &corev1.Container{Name: "c"}, "")
	if got := envMap(env)["KUBERNETES_SERVICE_HOST"]; got != "10.0.0.99" {
		t.Errorf("KUBERNETES_SERVICE_HOST = %q with a kubernetes Service in the namespace", got)
	}
}

func TestResourceFieldRef(t *testing.T) {
	k, _, _ := volumeKubelet(t)
	k.cfg.Capacity = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("8Gi")}
	k.cfg.Reserved = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
	pod := volumePod()
	pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")},
	}
	for _, tc := range []struct {
		res, div, want string
	}{
		{"requests.cpu", "", "1"},     // 250m rounded up to 1 core
		{"requests.cpu", "1m", "250"}, // in millicores
		{"limits.cpu", "", "4"},       // 3500m allocatable, rounded up
		{"limits.cpu", "1m", "3500"},
		{"limits.memory", "1Mi", "64"},
		{"requests.memory", "", strconv.Itoa(32 << 20)},
		{"requests.memory", "1Gi", "1"},
	} {
		ref := &corev1.ResourceFieldSelector{ContainerName: "c", Resource: tc.res}
		if tc.div != "" {
			ref.Divisor = resource.MustParse(tc.div)
		}
		got, err := k.resourceValue(context.Background(), pod, ref)
		if err != nil || got != tc.want {
			t.Errorf("%s / %q = %q, %v; want %s", tc.res, tc.div, got, err, tc.want)
		}
	}
}

func TestSubPathExpr(t *testing.T) {
	dir := t.TempDir()
	pod := &corev1.Pod{Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "w", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}}}
	env := []corev1.EnvVar{{Name: "POD", Value: "p1"}, {Name: "UP", Value: ".."}, {Name: "ABS", Value: "/etc"}}
	mount := func(expr string) ([]*corev1.VolumeMount, error) {
		c := &corev1.Container{VolumeMounts: []corev1.VolumeMount{{Name: "w", MountPath: "/logs", SubPathExpr: expr}}}
		ms, err := mounts(pod, c, map[string]string{"w": dir}, env)
		if err != nil {
			return nil, err
		}
		if want := filepath.Join(dir, "logs-p1"); expr == "logs-$(POD)" && ms[0].HostPath != want {
			t.Errorf("host path %s, want %s", ms[0].HostPath, want)
		}
		return nil, nil
	}
	if _, err := mount("logs-$(POD)"); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dir, "logs-p1")); err != nil || !info.IsDir() {
		t.Errorf("the subPath directory was not made: %v", err)
	}
	for _, bad := range []string{"$(UP)", "$(ABS)", "$(NOPE)", "a/$(UP)/b"} {
		if _, err := mount(bad); err == nil {
			t.Errorf("subPathExpr %q accepted", bad)
		}
	}
}

func TestHostPathTypes(t *testing.T) {
	dir := t.TempDir()
	typ := func(t corev1.HostPathType) *corev1.HostPathType { return &t }
	file := filepath.Join(dir, "f")
	if err := hostPath(&corev1.HostPathVolumeSource{Path: file, Type: typ(corev1.HostPathFileOrCreate)}); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o644 {
		t.Errorf("FileOrCreate: %v %v", info, err)
	}
	if err := hostPath(&corev1.HostPathVolumeSource{Path: filepath.Join(dir, "no/parent"), Type: typ(corev1.HostPathFileOrCreate)}); err == nil {
		t.Error("FileOrCreate made a missing parent directory")
	}
	if err := hostPath(&corev1.HostPathVolumeSource{Path: file, Type: typ(corev1.HostPathDirectory)}); err == nil || err.Error() != "hostPath type check failed: "+file+" is not a directory" {
		t.Errorf("Directory on a file: %v", err)
	}
	if err := hostPath(&corev1.HostPathVolumeSource{Path: file, Type: typ(corev1.HostPathSocket)}); err == nil || err.Error() != "hostPath type check failed: "+file+" is not a socket file" {
		t.Errorf("Socket on a file: %v", err)
	}
	if err := hostPath(&corev1.HostPathVolumeSource{Path: filepath.Join(dir, "d/e"), Type: typ(corev1.HostPathDirectoryOrCreate)}); err != nil {
		t.Errorf("DirectoryOrCreate: %v", err)
	}
	if err := hostPath(&corev1.HostPathVolumeSource{Path: file, Type: typ(corev1.HostPathDirectoryOrCreate)}); err == nil {
		t.Error("DirectoryOrCreate accepted a file")
	}
}

func TestFSGroupOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to an arbitrary gid needs root")
	}
	ctx := context.Background()
	k, _, _ := volumeKubelet(t)
	pod := volumePod()
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr.To[int64](4321)}
	w := newPodWorker(k, pod, false)
	if err := w.syncVolumes(ctx, pod); err != nil {
		t.Fatal(err)
	}
	check := func(p string, wantPerm os.FileMode, setgid bool) {
		t.Helper()
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := info.Sys().(*syscall.Stat_t)
		if st.Gid != 4321 || info.Mode().Perm() != wantPerm || (info.Mode()&os.ModeSetgid != 0) != setgid {
			t.Errorf("%s: gid %d mode %v, want gid 4321 perm %v setgid %v", p, st.Gid, info.Mode(), wantPerm, setgid)
		}
	}
	check(w.volumeDirs["scratch"], 0o777, true)
	check(filepath.Join(w.volumeDirs["creds"], "pass"), 0o644, false)
	check(filepath.Join(w.volumeDirs["conf"], "dir/mode"), 0o440, false)
	check(filepath.Join(w.volumeDirs["conf"], "..data/dir"), 0o755, true)
}

func TestMemoryEmptyDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	ctx := context.Background()
	k, _, _ := volumeKubelet(t)
	pod := volumePod()
	size := resource.MustParse("4Mi")
	pod.Spec.Volumes[0].EmptyDir = &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &size}
	w := newPodWorker(k, pod, false)
	if err := w.syncVolumes(ctx, pod); err != nil {
		t.Fatal(err)
	}
	dir := w.volumeDirs["scratch"]
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	const tmpfsMagic = 0x01021994
	if st.Type != tmpfsMagic || int64(st.Blocks)*st.Bsize != 4<<20 {
		t.Errorf("emptyDir medium Memory: fs type %#x, %d bytes; want a 4Mi tmpfs", st.Type, int64(st.Blocks)*st.Bsize)
	}
	// A second sync does not mount again.
	w.volumesSynced = w.volumesSynced.Add(-defaultVolumeResync)
	if err := w.syncVolumes(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if err := unmountUnder(k.podDir(string(pod.UID))); err != nil {
		t.Fatal(err)
	}
	if mounted, _ := isMountPoint(dir); mounted {
		t.Error("the tmpfs is still mounted after unmountUnder (mounted twice?)")
	}
}
