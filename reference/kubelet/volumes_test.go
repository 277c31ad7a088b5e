package kubelet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteAtomically(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "v")
	now := time.Unix(1000, 0)
	changed, err := writeAtomically(dir, map[string]volumeFile{"a": {[]byte("1"), 0o644}, "sub/b": {[]byte("2"), 0o600}}, now)
	if err != nil || !changed {
		t.Fatalf("first write: %v %v", changed, err)
	}
	if read(t, filepath.Join(dir, "a")) != "1" || read(t, filepath.Join(dir, "sub/b")) != "2" {
		t.Fatal("content")
	}
	if target, _ := os.Readlink(filepath.Join(dir, "a")); target != "..data/a" {
		t.Fatalf("a links to %q", target)
	}
	if info, _ := os.Stat(filepath.Join(dir, "sub/b")); info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", info.Mode())
	}
	first, _ := os.Readlink(filepath.Join(dir, "..data"))
	if changed, err := writeAtomically(dir, map[string]volumeFile{"a": {[]byte("1"), 0o644}, "sub/b": {[]byte("2"), 0o600}}, now); err != nil || changed {
		t.Fatalf("same payload: changed %v, %v", changed, err)
	}
	if changed, err := writeAtomically(dir, map[string]volumeFile{"a": {[]byte("3"), 0o644}}, now.Add(time.Second)); err != nil || !changed {
		t.Fatalf("update: %v %v", changed, err)
	}
	if read(t, filepath.Join(dir, "a")) != "3" {
		t.Fatal("update not visible")
	}
	for _, gone := range []string{"sub", first} {
		if _, err := os.Lstat(filepath.Join(dir, gone)); !os.IsNotExist(err) {
			t.Errorf("%s still there after the update: %v", gone, err)
		}
	}
	if _, err := writeAtomically(dir, map[string]volumeFile{"../x": {}}, now); err == nil {
		t.Error("a path leaving the volume was written")
	}
}

// volumeKubelet is a kubelet over a fake API with a Secret, a ConfigMap, the kubernetes
// Service and TokenRequests answered with tokens naming the bound pod.
func volumeKubelet(t *testing.T) (*Kubelet, *fake.Clientset, *clocktesting.FakeClock) {
	client := fake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Data: map[string][]byte{"user": []byte("admin"), "pass": []byte("hunter2")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Namespace: "ns"}, Data: map[string]string{"ca.crt": "CA", "mode": "fast"}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default"}, Spec: corev1.ServiceSpec{
			ClusterIP: "10.96.0.1", Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}}}},
	)
	clock := clocktesting.NewFakeClock(time.Unix(100000, 0))
	n := 0
	client.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		tr := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		n++
		tr.Status.Token = "token-" + string(rune('0'+n)) + "-" + tr.Spec.BoundObjectRef.Name + "-" + strings.Join(tr.Spec.Audiences, ",")
		tr.Status.ExpirationTimestamp = metav1.NewTime(clock.Now().Add(time.Duration(*tr.Spec.ExpirationSeconds) * time.Second))
		return true, tr, nil
	})
	k := &Kubelet{cfg: Config{RootDir: t.TempDir(), Clock: clock, NodeIP: "192.0.2.1", NodeName: "n", Logf: t.Logf}, client: client}
	k.services = func() ([]*corev1.Service, error) {
		list, err := client.CoreV1().Services("").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		var out []*corev1.Service
		for i := range list.Items {
			out = append(out, &list.Items[i])
		}
		return out, nil
	}
	return k, client, clock
}

func volumePod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "uid-1", Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{
			ServiceAccountName: "default",
			Volumes: []corev1.Volume{
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
				{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Items: []corev1.KeyToPath{{Key: "mode", Path: "dir/mode", Mode: ptr.To[int32](0o400)}}}}},
				{Name: "info", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{
					{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}}}}},
				{Name: "kube-api-access-abcde", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
					DefaultMode: ptr.To[int32](0o644),
					Sources: []corev1.VolumeProjection{
						{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr.To[int64](3607), Path: "token"}},
						{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
						{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}}}},
					}}}},
			},
			Containers: []corev1.Container{{Name: "c", Image: "x", VolumeMounts: []corev1.VolumeMount{
				{Name: "scratch", MountPath: "/scratch"},
				{Name: "creds", MountPath: "/creds"},
				{Name: "creds", MountPath: "/user", SubPath: "user"},
				{Name: "kube-api-access-abcde", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true},
			}}},
		},
	}
}

func TestVolumes(t *testing.T) {
	ctx := context.Background()
	k, client, clock := volumeKubelet(t)
	pod := volumePod()
	w := newPodWorker(k, pod, false)
	if err := w.syncVolumes(ctx, pod); err != nil {
		t.Fatal(err)
	}
	sa := w.volumeDirs["kube-api-access-abcde"]
	if want := filepath.Join(k.cfg.RootDir, "pods/uid-1/volumes/kubernetes.io~projected/kube-api-access-abcde"); sa != want {
		t.Fatalf("token volume at %s, want %s", sa, want)
	}
	if got := read(t, filepath.Join(sa, "token")); got != "token-1-p-" {
		t.Errorf("token %q", got)
	}
	if read(t, filepath.Join(sa, "ca.crt")) != "CA" || read(t, filepath.Join(sa, "namespace")) != "ns" {
		t.Error("ca.crt or namespace")
	}
	if read(t, filepath.Join(w.volumeDirs["creds"], "pass")) != "hunter2" {
		t.Error("secret key")
	}
	conf := filepath.Join(w.volumeDirs["conf"], "dir/mode")
	if info, err := os.Stat(conf); err != nil || info.Mode().Perm() != 0o400 || read(t, conf) != "fast" {
		t.Errorf("configMap item: %v %v", info, err)
	}
	if read(t, filepath.Join(w.volumeDirs["info"], "labels")) != `app="x"` {
		t.Error("downward API labels")
	}
	if info, err := os.Stat(w.volumeDirs["scratch"]); err != nil || !info.IsDir() {
		t.Errorf("emptyDir: %v", err)
	}

	ms, err := mounts(pod, &pod.Spec.Containers[0], w.volumeDirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 || ms[0].Readonly || !ms[1].Readonly || !ms[3].Readonly || read(t, ms[2].HostPath) != "admin" {
		t.Errorf("mounts %v", ms)
	}

	// A Secret change reaches the volume at the next resync.
	sec, _ := client.CoreV1().Secrets("ns").Get(ctx, "s", metav1.GetOptions{})
	sec.Data["pass"] = []byte("changed")
	if _, err := client.CoreV1().Secrets("ns").Update(ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	clock.Step(defaultVolumeResync)
	if err := w.syncVolumes(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if read(t, filepath.Join(w.volumeDirs["creds"], "pass")) != "changed" {
		t.Error("the Secret's change did not reach the volume")
	}
	if got := read(t, filepath.Join(sa, "token")); got != "token-1-p-" {
		t.Errorf("token renewed early: %q", got)
	}
	// After 80 % of its lifetime the token is renewed.
	clock.Step(time.Duration(3607*8/10)*time.Second + time.Second)
	if err := w.syncVolumes(ctx, pod); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(sa, "token")); got != "token-2-p-" {
		t.Errorf("token after 80 %% of its lifetime: %q", got)
	}
	for _, a := range client.Actions() {
		if ca, ok := a.(k8stesting.CreateAction); ok && a.GetSubresource() == "token" {
			tr := ca.GetObject().(*authenticationv1.TokenRequest)
			if ref := tr.Spec.BoundObjectRef; ref == nil || ref.Kind != "Pod" || ref.UID != pod.UID || *tr.Spec.ExpirationSeconds != 3607 {
				t.Errorf("TokenRequest %+v", tr.Spec)
			}
		}
	}
}

func TestMissingSecretVolume(t *testing.T) {
	k, _, _ := volumeKubelet(t)
	pod := volumePod()
	pod.Spec.Volumes[1].Secret.SecretName = "nope"
	w := newPodWorker(k, pod, false)
	err := w.syncVolumes(context.Background(), pod)
	if err == nil || err.Error() != `MountVolume.SetUp failed for volume "creds" : secret "nope" not found` {
		t.Fatalf("err = %v", err)
	}
	pod.Spec.Volumes[1].Secret.Optional = ptr.To(true)
	if err := w.syncVolumes(context.Background(), pod); err != nil {
		t.Fatalf("an optional missing Secret: %v", err)
	}
}

func TestEnv(t *testing.T) {
	k, _, _ := volumeKubelet(t)
	pod := volumePod()
	c := &corev1.Container{Name: "c", EnvFrom: []corev1.EnvFromSource{
		{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptr.To(true)}},
	}, Env: []corev1.EnvVar{
		{Name: "PASS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "pass"}}},
		{Name: "MODE", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "mode"}}},
		{Name: "URL", Value: "https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)"},
		{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
	}}
	env, err := k.envFor(context.Background(), pod, c, "10.0.0.5")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range env {
		got[e.Name] = e.Value
	}
	for name, want := range map[string]string{
		"CM_mode": "fast", "PASS": "hunter2", "MODE": "fast", "NS": "ns", "URL": "https://10.96.0.1:443",
		"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443", "KUBERNETES_SERVICE_PORT_HTTPS": "443",
		"KUBERNETES_PORT": "tcp://10.96.0.1:443", "KUBERNETES_PORT_443_TCP": "tcp://10.96.0.1:443",
		"KUBERNETES_PORT_443_TCP_PROTO": "tcp", "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
	} {
		if got[name] != want {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
	c.Env = append(c.Env, corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "nokey"}}})
	if _, err := k.envFor(context.Background(), pod, c, ""); err == nil || err.Error() != "couldn't find key nokey in Secret ns/s" {
		t.Errorf("a missing key: %v", err)
	}
}

func TestWriteVolume(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "v")
	now := time.Unix(1000, 0)
	payload := map[string]volumeFile{"a": {[]byte("1"), 0o644}}
	var last writtenVolume
	if changed, err := writeVolume(dir, payload, now, &last); err != nil || !changed {
		t.Fatalf("first write: %v %v", changed, err)
	}
	// A file changed behind the kubelet's back: an unchanged payload is not compared with the
	// files again, so it stays...
	target, _ := os.Readlink(filepath.Join(dir, "..data"))
	file := filepath.Join(dir, target, "a")
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if changed, err := writeVolume(dir, map[string]volumeFile{"a": {[]byte("1"), 0o644}}, now, &last); err != nil || changed {
		t.Fatalf("same payload: changed %v, %v", changed, err)
	}
	// ...until a kubelet without a record (restarted) compares and rewrites it.
	var fresh writtenVolume
	if changed, err := writeVolume(dir, payload, now, &fresh); err != nil || !changed || read(t, filepath.Join(dir, "a")) != "1" {
		t.Fatalf("first sync of a restarted kubelet: changed %v, %v", changed, err)
	}
	// A changed payload (content or mode) is written.
	for i, p := range []map[string]volumeFile{{"a": {[]byte("2"), 0o644}}, {"a": {[]byte("2"), 0o600}}, {"b": {[]byte("2"), 0o600}}} {
		if changed, err := writeVolume(dir, p, now.Add(time.Duration(i+1)*time.Second), &fresh); err != nil || !changed {
			t.Fatalf("payload %d: changed %v, %v", i, changed, err)
		}
	}
	if read(t, filepath.Join(dir, "b")) != "2" {
		t.Fatal("the last payload is not in the volume")
	}
	// A directory that was removed is written again.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if changed, err := writeVolume(dir, map[string]volumeFile{"b": {[]byte("2"), 0o600}}, now, &fresh); err != nil || !changed || read(t, filepath.Join(dir, "b")) != "2" {
		t.Fatalf("after the directory went: changed %v, %v", changed, err)
	}
}
