package conformance

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Sources of the kubelet's volume and environment behaviours.
const (
	srcSecretsInPods   = "Kubernetes: Secrets, using Secrets as files from a Pod and as environment variables (kubernetes.io/docs/concepts/configuration/secret), upstream e2e common/storage/secrets_volume.go and common/node/secrets.go"
	srcProjectedTokens = "Kubernetes: projected volumes, serviceAccountToken (kubernetes.io/docs/concepts/storage/projected-volumes) and bound service account tokens (kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-tokens)"
	srcMissingSecret   = "Kubernetes: Secrets, optional Secrets (kubernetes.io/docs/concepts/configuration/secret/#restriction-secret-must-exist): a pod referencing a missing Secret does not start"
	srcEmptyDir        = "Kubernetes: Volumes, emptyDir (kubernetes.io/docs/concepts/storage/volumes/#emptydir): \"all containers in the Pod can read and write the same files in the emptyDir volume\"; upstream e2e common/storage/empty_dir.go"
	srcConfigMapVolume = "Kubernetes: ConfigMaps, using ConfigMaps as files from a Pod, projecting keys to specific paths with items and file permissions (kubernetes.io/docs/concepts/configuration/configmap, kubernetes.io/docs/concepts/storage/volumes/#configmap); upstream e2e common/storage/configmap_volume.go \"with mappings and Item mode set\""
	srcConfigMapUpdate = "Kubernetes: ConfigMaps, mounted ConfigMaps are updated automatically (kubernetes.io/docs/concepts/configuration/configmap/#mounted-configmaps-are-updated-automatically); upstream e2e common/storage/configmap_volume.go \"updates should be reflected in volume\""
	srcDownwardVolume  = "Kubernetes: Downward API, volume files are updated when labels or annotations change (kubernetes.io/docs/concepts/workloads/pods/downward-api); upstream e2e common/storage/downwardapi_volume.go \"should update labels on modification\""
	srcFSGroup         = "Kubernetes: Configure a Security Context for a Pod, fsGroup (kubernetes.io/docs/tasks/configure-pod-container/security-context): \"the owner for volume /data/demo and any files created in that volume will be Group ID 2000\"; upstream e2e common/storage/secrets_volume.go \"as non-root with defaultMode and fsGroup set\""
	srcHostPath        = "Kubernetes: Volumes, hostPath and its types (kubernetes.io/docs/concepts/storage/volumes/#hostpath): DirectoryOrCreate makes the directory, Directory must exist; upstream e2e storage/host_path_type.go"
	srcSubPath         = "Kubernetes: Volumes, using subPath and subPathExpr (kubernetes.io/docs/concepts/storage/volumes/#using-subpath); upstream e2e common/node/expansion.go \"should allow substituting values in a volume subpath\""
)

func kubeletVolumeSpecs() []spec[*kubeletEnv] {
	return append([]spec[*kubeletEnv]{
		{kubeletBehavior("kubelet.volumes.secret-file-and-env",
			"a container MUST read a Secret's key as a file of a secret volume mounted where asked and as an environment variable from secretKeyRef, and a ConfigMap's keys as environment variables from envFrom with its prefix",
			srcSecretsInPods), specSecretFileAndEnv},
		{kubeletBehavior("kubelet.volumes.projected-token",
			"a container MUST read from a projected volume a token of its pod's ServiceAccount for the audience asked and bound to the pod (sub system:serviceaccount:<namespace>:<name>, aud, the pod's name and uid in the kubernetes.io claim), and its namespace from a downwardAPI item of the same volume",
			srcProjectedTokens), specProjectedToken},
		{kubeletBehavior("kubelet.volumes.missing-secret-waits",
			"a pod whose secret volume names a Secret that does not exist (not optional) MUST NOT start: it MUST stay Pending with its container waiting as ContainerCreating, and it MUST start once the Secret is created",
			srcMissingSecret), specMissingSecretWaits},
		{kubeletBehavior("kubelet.volumes.emptydir-shared",
			"the containers of a pod MUST share its emptyDir volume: a file one container writes in it MUST be readable by another container that mounts the same volume at another path, and the reverse",
			srcEmptyDir), specEmptyDirShared},
		{kubeletBehavior("kubelet.volumes.emptydir-memory",
			"an emptyDir with medium Memory MUST be a tmpfs (RAM-backed) file system of the volume's sizeLimit that the pod's containers can write",
			srcEmptyDir), specEmptyDirMemory},
		{kubeletBehavior("kubelet.volumes.fsgroup-ownership",
			"with a pod fsGroup, the files of a secret volume MUST belong to that group and be readable by it, and an emptyDir MUST belong to it with the setgid bit, so that a non-root container with that group reads the Secret and writes in the emptyDir",
			srcFSGroup), specFSGroupOwnership},
		{kubeletBehavior("kubelet.volumes.hostpath",
			"a hostPath volume MUST bind the node's path: a file written through a DirectoryOrCreate hostPath MUST be readable by another pod mounting that path with type Directory (refusing writes when readOnly), and a pod whose hostPath of type Directory does not exist MUST NOT start and MUST get a Warning event saying the type check failed",
			srcHostPath), specHostPath},
		{kubeletBehavior("kubelet.volumes.configmap-items-modes",
			"a configMap volume with items MUST hold exactly the listed keys, each at its path (subdirectories made), with the item's mode or else the volume's defaultMode, and a configMap volume without items MUST hold every key with mode 0644",
			srcConfigMapVolume), specConfigMapItemsModes},
		{kubeletBehavior("kubelet.volumes.configmap-update",
			"a change of a ConfigMap MUST reach the files of a configMap volume of a running pod (within 90 s here), without restarting the container",
			srcConfigMapUpdate), specConfigMapUpdate},
		{kubeletBehavior("kubelet.volumes.downwardapi-labels-update",
			"a downwardAPI volume file of metadata.labels MUST hold the pod's labels as key=\"value\" lines, and a change of the pod's labels MUST reach it while the pod runs (within 90 s here)",
			srcDownwardVolume), specDownwardLabelsUpdate},
		{kubeletBehavior("kubelet.volumes.subpath",
			"a volumeMount with subPath MUST mount only that path of the volume (a ConfigMap key as a single file; a subdirectory of an emptyDir, made when missing, that another container sees inside the volume), and subPathExpr MUST be expanded with the container's environment",
			srcSubPath), specSubPath},
	}, append(kubeletEnvSpecs(), kubeletPodCertificateSpecs()...)...)
}

// cat runs /ckimage cat path in the pod's container and returns what it printed.
func (e *kubeletEnv) cat(ctx context.Context, g gomega.Gomega, pod, path string) string {
	out, stderr, code, err := e.exec(ctx, pod, true, "/ckimage", "cat", path)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "exec cat %s", path)
	g.ExpectWithOffset(1, code).To(gomega.BeZero(), "cat %s: %s", path, stderr)
	return out
}

// execIn runs command in container of pod through pods/exec (WebSocket).
func (e *kubeletEnv) execIn(ctx context.Context, pod, container string, command ...string) (string, string, int, error) {
	return podExec(ctx, e.k.Config, e.client, e.ns, pod, container, "websocket", nil, command...)
}

// run runs a ckimage command in container of pod and fails unless it exits 0.
func (e *kubeletEnv) run(ctx context.Context, g gomega.Gomega, pod, container string, args ...string) string {
	out, stderr, code, err := e.execIn(ctx, pod, container, append([]string{"/ckimage"}, args...)...)
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "exec %v in %s/%s", args, pod, container)
	g.ExpectWithOffset(1, code).To(gomega.BeZero(), "%v in %s/%s: %s", args, pod, container, stderr)
	return out
}

// volumeUpdateTimeout is how long a change of a ConfigMap or of the pod's labels may take to
// reach a mounted volume (the kubelet's sync period and its object cache).
const volumeUpdateTimeout = 90 * time.Second

// catEventually polls cat path in the pod's container until match holds, and fails after
// timeout with the last content read.
func (e *kubeletEnv) catEventually(ctx context.Context, g gomega.Gomega, pod, path, what string, timeout time.Duration, match func(string) bool) {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		out, stderr, code, err := e.exec(ctx, pod, true, "/ckimage", "cat", path)
		switch {
		case err != nil:
			last = "exec failed: " + err.Error()
		case code != 0:
			last = "cat failed: " + stderr
		default:
			last = out
			if match(out) {
				return
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			g.ExpectWithOffset(1, false).To(gomega.BeTrue(), "%s: waited %s; %s holds %q", what, timeout, path, last)
			return
		}
		time.Sleep(time.Second)
	}
}

func specEmptyDirShared(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("shared", "serve-hostname")
	p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/shared"}}
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{
		Name: "d", Image: e.image, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"/ckimage"}, Args: []string{"pause"},
		VolumeMounts: []corev1.VolumeMount{{Name: "scratch", MountPath: "/data"}},
	})
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "shared", "Running", startTimeout, isRunning)
	_, _, code, err := e.execIn(ctx, "shared", "d", "/ckimage", "cat", "/data/note")
	ok(g, err, "exec cat in d")
	g.Expect(code).NotTo(gomega.BeZero(), "a new emptyDir holds no file /note")
	e.run(ctx, g, "shared", "c", "write", "/shared/note", "from", "c")
	g.Expect(e.run(ctx, g, "shared", "d", "cat", "/data/note")).To(gomega.Equal("from c"), "container d reads what c wrote in the emptyDir")
	e.run(ctx, g, "shared", "d", "write", "/data/reply", "from", "d")
	g.Expect(e.run(ctx, g, "shared", "c", "cat", "/shared/reply")).To(gomega.Equal("from d"), "container c reads what d wrote in the emptyDir")
}

func specEmptyDirMemory(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	size := resource.MustParse("8Mi")
	p := e.testPod("memory", "serve-hostname")
	p.Spec.Volumes = []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
		Medium: corev1.StorageMediumMemory, SizeLimit: &size}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cache", MountPath: "/cache"}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "memory", "Running", startTimeout, isRunning)
	g.Expect(strings.Fields(e.run(ctx, g, "memory", "c", "statfs", "/cache"))).To(gomega.Equal([]string{"tmpfs", "8388608"}),
		"the file system of an emptyDir with medium Memory and sizeLimit 8Mi")
	e.run(ctx, g, "memory", "c", "write", "/cache/f", "in", "memory")
	g.Expect(e.cat(ctx, g, "memory", "/cache/f")).To(gomega.Equal("in memory"), "a file written in the memory-backed emptyDir")
}

func specFSGroupOwnership(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	_, err := e.client.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "key"}, Data: map[string][]byte{"token": []byte("t0ken")},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the Secret")
	const gid = 2345
	p := e.testPod("fsgroup", "serve-hostname")
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1001), RunAsGroup: ptr.To[int64](1001), FSGroup: ptr.To[int64](gid)}
	p.Spec.Volumes = []corev1.Volume{
		{Name: "key", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "key", DefaultMode: ptr.To[int32](0o440)}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "key", MountPath: "/etc/key"}, {Name: "scratch", MountPath: "/scratch"}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "fsgroup", "Running", startTimeout, isRunning)
	stat := func(path string) []string {
		f := strings.Fields(e.run(ctx, g, "fsgroup", "c", "stat", path))
		g.Expect(f).To(gomega.HaveLen(3), "stat %s", path)
		return f
	}
	key := stat("/etc/key/token")
	g.Expect(key[0]).To(gomega.Equal("-r--r-----"), "the Secret file's mode (defaultMode 0440)")
	g.Expect(key[2]).To(gomega.Equal(fmt.Sprint(gid)), "the Secret file's group is the fsGroup")
	g.Expect(e.cat(ctx, g, "fsgroup", "/etc/key/token")).To(gomega.Equal("t0ken"), "user 1001 reads the Secret through the fsGroup")
	dir := stat("/scratch")
	g.Expect(dir[0]).To(gomega.Equal("dgrwxrwxrwx"), "the emptyDir is setgid and open to all")
	g.Expect(dir[2]).To(gomega.Equal(fmt.Sprint(gid)), "the emptyDir's group is the fsGroup")
	e.run(ctx, g, "fsgroup", "c", "write", "/scratch/out", "mine")
}

func specHostPath(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	e.allowPrivileged(ctx, g)
	dir := "/tmp/clusterkit-hostpath-" + e.ns
	vol := func(path string, t corev1.HostPathType) []corev1.Volume {
		return []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path, Type: &t}}}}
	}
	// The node's /tmp, to remove the spec's directory from the node at the end.
	cleaner := e.testPod("cleaner", "serve-hostname")
	cleaner.Spec.Volumes = vol("/tmp", corev1.HostPathDirectory)
	cleaner.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/nodetmp"}}
	e.create(ctx, g, cleaner)
	e.waitPod(ctx, g, "cleaner", "Running", startTimeout, isRunning)
	defer func() { _, _, _, _ = e.execIn(ctx, "cleaner", "c", "/ckimage", "rm", "/nodetmp/"+path.Base(dir)) }()
	writer := e.testPod("writer", "serve-hostname")
	writer.Spec.Volumes = vol(dir, corev1.HostPathDirectoryOrCreate)
	writer.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}
	e.create(ctx, g, writer)
	e.waitPod(ctx, g, "writer", "Running", startTimeout, isRunning)
	e.run(ctx, g, "writer", "c", "write", "/host/note", "on", "the", "node")
	reader := e.testPod("reader", "serve-hostname")
	reader.Spec.Volumes = vol(dir, corev1.HostPathDirectory)
	reader.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/node", ReadOnly: true}}
	e.create(ctx, g, reader)
	e.waitPod(ctx, g, "reader", "Running", startTimeout, isRunning)
	g.Expect(e.cat(ctx, g, "reader", "/node/note")).To(gomega.Equal("on the node"), "another pod reads the node's file through its hostPath")
	_, stderr, code, err := e.exec(ctx, "reader", true, "/ckimage", "touch", "/node/x")
	ok(g, err, "exec touch")
	g.Expect(code).NotTo(gomega.BeZero(), "a readOnly hostPath mount must refuse writes (%s)", stderr)
	missing := e.testPod("missing", "serve-hostname")
	missing.Spec.Volumes = vol(dir+"-absent", corev1.HostPathDirectory)
	missing.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: "/host"}}
	e.create(ctx, g, missing)
	e.expectWarning(ctx, g, "missing", func(ev corev1.Event) bool {
		return ev.Reason == "FailedMount" && strings.Contains(ev.Message, "hostPath type check failed")
	})
	got, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "missing", metav1.GetOptions{})
	ok(g, err, "reading the pod")
	g.Expect(got.Status.Phase).To(gomega.Equal(corev1.PodPending), "a pod whose hostPath fails its type check: %s", describeStatus(got))
	g.Expect(isRunning(got)).To(gomega.BeFalse())
}

func specConfigMapItemsModes(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	_, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "cfg"}, Data: map[string]string{"data-1": "value-1", "data-2": "value-2", "data-3": "value-3"},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the ConfigMap")
	p := e.testPod("items", "serve-hostname")
	p.Spec.Volumes = []corev1.Volume{
		{Name: "mapped", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, DefaultMode: ptr.To[int32](0o440),
			Items: []corev1.KeyToPath{{Key: "data-1", Path: "path/to/data-1", Mode: ptr.To[int32](0o400)}, {Key: "data-2", Path: "data-2"}}}}},
		{Name: "all", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
	}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "mapped", MountPath: "/etc/mapped"}, {Name: "all", MountPath: "/etc/all"}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "items", "Running", startTimeout, isRunning)
	g.Expect(e.cat(ctx, g, "items", "/etc/mapped/path/to/data-1")).To(gomega.Equal("value-1"), "item data-1 at its path")
	g.Expect(e.cat(ctx, g, "items", "/etc/mapped/data-2")).To(gomega.Equal("value-2"), "item data-2 at its path")
	_, _, code, err := e.exec(ctx, "items", true, "/ckimage", "cat", "/etc/mapped/data-3")
	ok(g, err, "exec cat")
	g.Expect(code).NotTo(gomega.BeZero(), "a key that is not among the items must not be in the volume")
	mode := func(path string) string {
		f := strings.Fields(e.run(ctx, g, "items", "c", "stat", path))
		g.Expect(f).NotTo(gomega.BeEmpty(), "stat %s", path)
		return f[0]
	}
	g.Expect(mode("/etc/mapped/path/to/data-1")).To(gomega.Equal("-r--------"), "the item's mode 0400")
	g.Expect(mode("/etc/mapped/data-2")).To(gomega.Equal("-r--r-----"), "the volume's defaultMode 0440")
	g.Expect(e.cat(ctx, g, "items", "/etc/all/data-3")).To(gomega.Equal("value-3"), "every key without items")
	g.Expect(mode("/etc/all/data-3")).To(gomega.Equal("-rw-r--r--"), "the default mode 0644")
}

func specConfigMapUpdate(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	cms := e.client.CoreV1().ConfigMaps(e.ns)
	_, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "live"}, Data: map[string]string{"data-1": "value-1"}}, metav1.CreateOptions{})
	ok(g, err, "creating the ConfigMap")
	p := e.testPod("live", "serve-hostname")
	p.Spec.Volumes = []corev1.Volume{{Name: "live", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "live"}}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "live", MountPath: "/etc/live"}}
	e.create(ctx, g, p)
	started := e.waitPod(ctx, g, "live", "Running", startTimeout, isRunning)
	g.Expect(e.cat(ctx, g, "live", "/etc/live/data-1")).To(gomega.Equal("value-1"), "the ConfigMap's first content")
	cm, err := cms.Get(ctx, "live", metav1.GetOptions{})
	ok(g, err, "reading the ConfigMap")
	cm.Data["data-1"] = "value-2"
	_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	ok(g, err, "updating the ConfigMap")
	e.catEventually(ctx, g, "live", "/etc/live/data-1", "the ConfigMap's new content in the running pod", volumeUpdateTimeout,
		func(s string) bool { return s == "value-2" })
	now, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "live", metav1.GetOptions{})
	ok(g, err, "reading the pod")
	g.Expect(containerStatus(now).RestartCount).To(gomega.Equal(containerStatus(started).RestartCount), "the update must not restart the container")
}

func specDownwardLabelsUpdate(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("labels", "serve-hostname")
	p.Labels = map[string]string{"key1": "value1", "key2": "value2"}
	p.Spec.Volumes = []corev1.Volume{{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
		Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels"}}}}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "podinfo", MountPath: "/etc/podinfo"}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "labels", "Running", startTimeout, isRunning)
	lines := func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }
	g.Expect(lines(e.cat(ctx, g, "labels", "/etc/podinfo/labels"))).To(gomega.ConsistOf(`key1="value1"`, `key2="value2"`), "the pod's labels")
	_, err := e.client.CoreV1().Pods(e.ns).Patch(ctx, "labels", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"key1":"changed","key3":"value3"}}}`), metav1.PatchOptions{})
	ok(g, err, "changing the pod's labels")
	e.catEventually(ctx, g, "labels", "/etc/podinfo/labels", "the pod's new labels in its downwardAPI volume", volumeUpdateTimeout, func(s string) bool {
		l := lines(s)
		return slices.Contains(l, `key1="changed"`) && slices.Contains(l, `key2="value2"`) && slices.Contains(l, `key3="value3"`) && len(l) == 3
	})
}

func specSubPath(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	_, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "app"}, Data: map[string]string{"app.conf": "level=debug", "other.conf": "x"},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the ConfigMap")
	p := e.testPod("subpath", "serve-hostname")
	p.Spec.Volumes = []corev1.Volume{
		{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "app", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app"}}}},
	}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
		{Name: "work", MountPath: "/work"},
		{Name: "app", MountPath: "/etc/app/app.conf", SubPath: "app.conf"},
	}
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{
		Name: "d", Image: e.image, ImagePullPolicy: corev1.PullIfNotPresent, Command: []string{"/ckimage"}, Args: []string{"pause"},
		Env: []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}}},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "work", MountPath: "/logs", SubPath: "logs"},
			{Name: "work", MountPath: "/mine", SubPathExpr: "pods/$(POD_NAME)"},
		},
	})
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "subpath", "Running", startTimeout, isRunning)
	g.Expect(e.cat(ctx, g, "subpath", "/etc/app/app.conf")).To(gomega.Equal("level=debug"), "the ConfigMap key mounted as a single file")
	_, _, code, err := e.exec(ctx, "subpath", true, "/ckimage", "cat", "/etc/app/other.conf")
	ok(g, err, "exec cat")
	g.Expect(code).NotTo(gomega.BeZero(), "the ConfigMap's other keys must not appear beside a subPath file")
	e.run(ctx, g, "subpath", "d", "write", "/logs/out", "from", "d")
	g.Expect(e.run(ctx, g, "subpath", "c", "cat", "/work/logs/out")).To(gomega.Equal("from d"), "the subPath logs of the emptyDir seen whole by the other container")
	e.run(ctx, g, "subpath", "d", "write", "/mine/id", "mine")
	g.Expect(e.run(ctx, g, "subpath", "c", "cat", "/work/pods/subpath/id")).To(gomega.Equal("mine"), "subPathExpr pods/$(POD_NAME) expanded with the pod's name")
}

func specSecretFileAndEnv(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	_, err := e.client.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"pass": []byte("s3cret-value"), "user": []byte("admin")},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the Secret")
	_, err = e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "conf"}, Data: map[string]string{"mode": "fast"},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the ConfigMap")
	p := e.testPod("reader", "serve-hostname")
	p.Spec.Volumes = []corev1.Volume{{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}}}
	c := &p.Spec.Containers[0]
	c.VolumeMounts = []corev1.VolumeMount{{Name: "creds", MountPath: "/etc/creds", ReadOnly: true}}
	c.Env = []corev1.EnvVar{{Name: "PASS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "pass"}}}}
	c.EnvFrom = []corev1.EnvFromSource{{Prefix: "CONF_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}}}}
	e.create(ctx, g, p)
	e.waitPod(ctx, g, "reader", "Running", startTimeout, isRunning)
	g.Expect(e.cat(ctx, g, "reader", "/etc/creds/pass")).To(gomega.Equal("s3cret-value"), "the Secret's key as a file")
	g.Expect(e.cat(ctx, g, "reader", "/etc/creds/user")).To(gomega.Equal("admin"), "the Secret's other key as a file")
	out, stderr, code, err := e.exec(ctx, "reader", true, "/ckimage", "env")
	ok(g, err, "exec env")
	g.Expect(code).To(gomega.BeZero(), "env: %s", stderr)
	lines := strings.Split(out, "\n")
	g.Expect(lines).To(gomega.ContainElement("PASS=s3cret-value"), "the Secret's key from secretKeyRef in the environment")
	g.Expect(lines).To(gomega.ContainElement("CONF_mode=fast"), "the ConfigMap's key from envFrom with its prefix in the environment")
}

// jwtClaims decodes the claims of a JWT without verifying it.
func jwtClaims(g gomega.Gomega, token string) map[string]any {
	parts := strings.Split(strings.TrimSpace(token), ".")
	g.ExpectWithOffset(1, parts).To(gomega.HaveLen(3), "the token is not a JWT: %q", token)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	g.ExpectWithOffset(1, err).NotTo(gomega.HaveOccurred(), "decoding the token's claims")
	var claims map[string]any
	g.ExpectWithOffset(1, json.Unmarshal(b, &claims)).To(gomega.Succeed(), "parsing the token's claims")
	return claims
}

func specProjectedToken(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	_, err := e.client.CoreV1().ServiceAccounts(e.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reader"}}, metav1.CreateOptions{})
	ok(g, err, "creating the ServiceAccount")
	const audience = "clusterkit-conformance"
	p := e.testPod("token", "serve-hostname")
	p.Spec.ServiceAccountName = "reader"
	p.Spec.Volumes = []corev1.Volume{{Name: "identity", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: audience, ExpirationSeconds: ptr.To[int64](3600), Path: "token"}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}}}},
		}}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "identity", MountPath: "/var/run/ck-identity", ReadOnly: true}}
	created := e.create(ctx, g, p)
	e.waitPod(ctx, g, "token", "Running", startTimeout, isRunning)
	g.Expect(e.cat(ctx, g, "token", "/var/run/ck-identity/namespace")).To(gomega.Equal(e.ns), "the namespace file")
	claims := jwtClaims(g, e.cat(ctx, g, "token", "/var/run/ck-identity/token"))
	g.Expect(claims["sub"]).To(gomega.Equal("system:serviceaccount:"+e.ns+":reader"), "the token's subject")
	aud, _ := claims["aud"].([]any)
	if s, isString := claims["aud"].(string); isString {
		aud = []any{s}
	}
	g.Expect(aud).To(gomega.ContainElement(audience), "the token's audience")
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	pod, _ := k8s["pod"].(map[string]any)
	g.Expect(pod).To(gomega.HaveKeyWithValue("name", "token"), "the token is bound to the pod: %v", claims)
	g.Expect(pod).To(gomega.HaveKeyWithValue("uid", string(created.UID)), "the token is bound to the pod's uid: %v", claims)
}

func specMissingSecretWaits(ctx context.Context, g gomega.Gomega, e *kubeletEnv) {
	p := e.testPod("waits", "serve-hostname")
	p.Spec.Volumes = []corev1.Volume{{Name: "late", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "late"}}}}
	p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "late", MountPath: "/etc/late"}}
	e.create(ctx, g, p)
	creating := func(p *corev1.Pod) bool {
		cs := containerStatus(p)
		return cs.State.Waiting != nil && cs.State.Waiting.Reason == "ContainerCreating"
	}
	e.waitPod(ctx, g, "waits", "a ContainerCreating status", startTimeout, creating)
	// It stays so while the Secret is missing.
	for range 3 {
		got, err := e.client.CoreV1().Pods(e.ns).Get(ctx, "waits", metav1.GetOptions{})
		ok(g, err, "reading the pod")
		g.Expect(got.Status.Phase).To(gomega.Equal(corev1.PodPending), "a pod whose Secret is missing: %s", describeStatus(got))
		g.Expect(creating(got)).To(gomega.BeTrue(), "a pod whose Secret is missing: %s", describeStatus(got))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	_, err := e.client.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "late"}, Data: map[string][]byte{"k": []byte("here")},
	}, metav1.CreateOptions{})
	ok(g, err, "creating the Secret")
	e.waitPod(ctx, g, "waits", "Running once the Secret exists", startTimeout, isRunning)
	g.Expect(e.cat(ctx, g, "waits", "/etc/late/k")).To(gomega.Equal("here"), "the Secret's key once it exists")
}
