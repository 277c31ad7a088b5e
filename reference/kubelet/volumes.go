package kubelet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Pod volumes. Each pod has a directory RootDir/pods/<uid>/volumes/<plugin>/<volume> per
// volume that the kubelet fills before the pod's containers start and bind-mounts into them
// through the CRI (ContainerConfig.Mounts): emptyDir is an empty directory; secret,
// configMap, downwardAPI and projected volumes are written atomically (writeAtomically) and
// re-synced every Config.VolumeResync, a projected ServiceAccount token being requested again
// (TokenRequest bound to the pod) once 80 % of its lifetime has passed or it is 24 h old;
// hostPath is the node's path itself.

// defaultVolumeResync is how often a running pod's Secret, ConfigMap, downward API and token
// volumes are brought up to date (Config.VolumeResync).
const defaultVolumeResync = 10 * time.Second

// tokenMaxAge is the age at which a projected token is renewed whatever its lifetime.
const tokenMaxAge = 24 * time.Hour

// podDir is the kubelet's directory of the pod with uid.
func (k *Kubelet) podDir(uid string) string {
	return filepath.Join(k.cfg.RootDir, "pods", uid)
}

// volumeDir is where volume name of plugin (kubernetes.io~secret ...) lives.
func (k *Kubelet) volumeDir(pod *corev1.Pod, plugin, name string) string {
	return filepath.Join(k.podDir(string(pod.UID)), "volumes", plugin, name)
}

// syncVolumes sets up the pod's volumes the first time and re-syncs them every Config.VolumeResync.
// An error before the first success keeps the pod's containers from being created; later
// errors leave the last content in place and are only logged.
func (w *podWorker) syncVolumes(ctx context.Context, pod *corev1.Pod) error {
	now := w.k.cfg.Clock.Now()
	resync := w.k.cfg.VolumeResync
	if resync <= 0 {
		resync = defaultVolumeResync
	}
	if w.volumeDirs != nil && now.Sub(w.volumesSynced) < resync {
		return nil
	}
	dirs := map[string]string{}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		dir, err := w.setUpVolume(ctx, pod, v, now)
		if err != nil {
			err = fmt.Errorf("MountVolume.SetUp failed for volume %q : %w", v.Name, err)
			if w.volumeDirs == nil {
				return err
			}
			w.k.logf("pod %s/%s: %v", pod.Namespace, pod.Name, err)
			dir = w.volumeDirs[v.Name]
		}
		dirs[v.Name] = dir
	}
	w.volumeDirs, w.volumesSynced = dirs, now
	return nil
}

// setUpVolume makes one volume's directory (or checks a hostPath) and returns its path on the
// node.
func (w *podWorker) setUpVolume(ctx context.Context, pod *corev1.Pod, v *corev1.Volume, now time.Time) (string, error) {
	k := w.k
	var (
		plugin  string
		payload map[string]volumeFile
		err     error
	)
	switch {
	case v.EmptyDir != nil:
		return k.setUpEmptyDir(ctx, pod, v)
	case v.HostPath != nil:
		return v.HostPath.Path, hostPath(v.HostPath)
	case v.Secret != nil:
		plugin = "kubernetes.io~secret"
		payload = map[string]volumeFile{}
		err = w.secretFiles(ctx, pod.Namespace, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, mode(v.Secret.DefaultMode, corev1.SecretVolumeSourceDefaultMode), payload)
	case v.ConfigMap != nil:
		plugin = "kubernetes.io~configmap"
		payload = map[string]volumeFile{}
		err = w.configMapFiles(ctx, pod.Namespace, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, mode(v.ConfigMap.DefaultMode, corev1.ConfigMapVolumeSourceDefaultMode), payload)
	case v.DownwardAPI != nil:
		plugin = "kubernetes.io~downward-api"
		payload = map[string]volumeFile{}
		err = w.downwardFiles(ctx, pod, v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode, corev1.DownwardAPIVolumeSourceDefaultMode), payload)
	case v.Projected != nil:
		plugin = "kubernetes.io~projected"
		payload, err = w.projectedFiles(ctx, pod, v.Name, v.Projected, now)
	default:
		return "", errors.New("this kubelet supports only emptyDir, hostPath, secret, configMap, downwardAPI and projected volumes")
	}
	if err != nil {
		return "", err
	}
	gid := fsGroup(pod)
	if gid != nil {
		// The kubelet's volume ownership: group fsGroup, readable by the group.
		for p, f := range payload {
			f.mode |= 0o440
			payload[p] = f
		}
	}
	dir := k.volumeDir(pod, plugin, v.Name)
	if w.written == nil {
		w.written = map[string]*writtenVolume{}
	}
	last := w.written[dir]
	if last == nil {
		last = &writtenVolume{}
		w.written[dir] = last
	}
	changed, err := writeVolume(dir, payload, now, last)
	if err != nil {
		return "", fmt.Errorf("writing the volume: %w", err)
	}
	if gid != nil && (changed || w.volumeDirs == nil) {
		if err := setVolumeOwnership(dir, *gid, true); err != nil {
			return "", fmt.Errorf("applying fsGroup %d: %w", *gid, err)
		}
	}
	return dir, nil
}

// fsGroup is the pod's fsGroup, nil when unset.
func fsGroup(pod *corev1.Pod) *int64 {
	if pod.Spec.SecurityContext == nil {
		return nil
	}
	return pod.Spec.SecurityContext.FSGroup
}

// setUpEmptyDir makes the pod's emptyDir: a directory (mode 0777) under the pod's directory
// on the node's disk, or with medium Memory a tmpfs mounted there (its size the sizeLimit,
// capped by the pod's memory limit and the node's allocatable memory). With an fsGroup the
// directory belongs to that group and is setgid, so what the containers create does too.
func (k *Kubelet) setUpEmptyDir(ctx context.Context, pod *corev1.Pod, v *corev1.Volume) (string, error) {
	dir := k.volumeDir(pod, "kubernetes.io~empty-dir", v.Name)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return "", err
	}
	switch v.EmptyDir.Medium {
	case corev1.StorageMediumDefault:
	case corev1.StorageMediumMemory:
		mounted, err := isMountPoint(dir)
		if err != nil {
			return "", err
		}
		if !mounted {
			opts := "mode=0777"
			if size := k.memoryVolumeSize(ctx, pod, v.EmptyDir.SizeLimit); size > 0 {
				opts += ",size=" + strconv.FormatInt(size, 10)
			}
			if err := mountTmpfs(dir, opts); err != nil {
				return "", fmt.Errorf("mounting a tmpfs for emptyDir medium Memory: %w", err)
			}
		}
	default:
		return "", fmt.Errorf("emptyDir medium %q is not supported by this kubelet", v.EmptyDir.Medium)
	}
	perm := os.FileMode(0o777)
	if gid := fsGroup(pod); gid != nil {
		if err := os.Chown(dir, -1, int(*gid)); err != nil {
			return "", err
		}
		perm |= os.ModeSetgid
	}
	return dir, os.Chmod(dir, perm)
}

// memoryVolumeSize is the size of a memory-backed emptyDir: the node's allocatable memory,
// lowered to the pod's memory limit when every container has one, and to sizeLimit when set
// (0: unknown, the tmpfs default).
func (k *Kubelet) memoryVolumeSize(ctx context.Context, pod *corev1.Pod, sizeLimit *resource.Quantity) int64 {
	size := int64(0)
	if q, ok := k.nodeAllocatable()[corev1.ResourceMemory]; ok {
		size = q.Value()
	}
	lower := func(v int64) {
		if v > 0 && (size == 0 || v < size) {
			size = v
		}
	}
	var sum int64
	all := len(pod.Spec.Containers) > 0
	for _, c := range pod.Spec.Containers {
		q, ok := c.Resources.Limits[corev1.ResourceMemory]
		if !ok {
			all = false
			break
		}
		sum += q.Value()
	}
	if all {
		for _, c := range pod.Spec.InitContainers {
			if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok && q.Value() > sum {
				sum = q.Value()
			}
		}
		lower(sum)
	}
	if sizeLimit != nil {
		lower(sizeLimit.Value())
	}
	return size
}

// setVolumeOwnership gives everything under dir the group gid, as the kubelet applies a pod's
// fsGroup: files readable (read-only volumes) or read-writable by the group, directories also
// searchable and setgid. Symlinks only change group.
func setVolumeOwnership(dir string, gid int64, readOnly bool) error {
	mask := os.FileMode(0o660)
	if readOnly {
		mask = 0o440
	}
	return filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(p, -1, int(gid)); err != nil {
			return err
		}
		if info.Mode()&os.ModeSymlink != 0 {
			return nil
		}
		m := info.Mode() | mask
		if info.IsDir() {
			m |= os.ModeSetgid | 0o110
		}
		return os.Chmod(p, m)
	})
}

func mode(m *int32, def int32) os.FileMode {
	if m != nil {
		return os.FileMode(*m) & 0o777
	}
	return os.FileMode(def)
}

// hostPath checks (or creates) a hostPath volume's path per its type, with the kubelet's
// messages ("hostPath type check failed: PATH is not a directory"). FileOrCreate does not make
// missing parent directories.
func hostPath(h *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if h.Type != nil {
		t = *h.Type
	}
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if info, err := os.Stat(h.Path); err == nil {
			if !info.IsDir() {
				return fmt.Errorf("hostPath type check failed: %s is not a directory", h.Path)
			}
			return nil
		}
		if err := os.MkdirAll(h.Path, 0o755); err != nil {
			return err
		}
		return os.Chmod(h.Path, 0o755)
	case corev1.HostPathFileOrCreate:
		if info, err := os.Stat(h.Path); err == nil {
			if !info.Mode().IsRegular() {
				return fmt.Errorf("hostPath type check failed: %s is not a file", h.Path)
			}
			return nil
		}
		f, err := os.OpenFile(h.Path, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Chmod(h.Path, 0o644)
	}
	what := map[corev1.HostPathType]string{
		corev1.HostPathDirectory: "directory", corev1.HostPathFile: "file", corev1.HostPathSocket: "socket file",
		corev1.HostPathCharDev: "character device", corev1.HostPathBlockDev: "block device",
	}[t]
	if what == "" {
		return fmt.Errorf("hostPath type %q is not supported", t)
	}
	info, err := os.Stat(h.Path)
	if err != nil {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", h.Path, what)
	}
	var ok bool
	switch t {
	case corev1.HostPathDirectory:
		ok = info.IsDir()
	case corev1.HostPathFile:
		ok = info.Mode().IsRegular()
	case corev1.HostPathSocket:
		ok = info.Mode()&os.ModeSocket != 0
	case corev1.HostPathCharDev:
		ok = info.Mode()&os.ModeCharDevice != 0
	case corev1.HostPathBlockDev:
		ok = info.Mode()&os.ModeDevice != 0 && info.Mode()&os.ModeCharDevice == 0
	}
	if !ok {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", h.Path, what)
	}
	return nil
}

// keyFiles adds the files of data (a Secret's or ConfigMap's) to payload: every key, or the
// items asked for. kind names the object in errors ("secret", "config").
func keyFiles(data map[string][]byte, items []corev1.KeyToPath, optional bool, def os.FileMode, kind string, payload map[string]volumeFile) error {
	if len(items) == 0 {
		for key, b := range data {
			payload[key] = volumeFile{data: b, mode: def}
		}
		return nil
	}
	for _, it := range items {
		b, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			if kind == "secret" {
				return fmt.Errorf("references non-existent secret key: %s", it.Key)
			}
			return fmt.Errorf("configmap references non-existent config key: %s", it.Key)
		}
		payload[it.Path] = volumeFile{data: b, mode: mode(it.Mode, int32(def))}
	}
	return nil
}

func (w *podWorker) secretFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool, def os.FileMode, payload map[string]volumeFile) error {
	s, err := w.k.secret(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		if optional != nil && *optional {
			return nil
		}
		return apierrors.NewNotFound(corev1.Resource("secret"), name)
	}
	if err != nil {
		return err
	}
	return keyFiles(s.Data, items, optional != nil && *optional, def, "secret", payload)
}

func (w *podWorker) configMapFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool, def os.FileMode, payload map[string]volumeFile) error {
	cm, err := w.k.configMap(ctx, ns, name)
	if apierrors.IsNotFound(err) {
		if optional != nil && *optional {
			return nil
		}
		return apierrors.NewNotFound(corev1.Resource("configmap"), name)
	}
	if err != nil {
		return err
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for key, v := range cm.Data {
		data[key] = []byte(v)
	}
	for key, b := range cm.BinaryData {
		data[key] = b
	}
	return keyFiles(data, items, optional != nil && *optional, def, "config", payload)
}

// downwardFiles adds the files of downward API items to payload.
func (w *podWorker) downwardFiles(ctx context.Context, pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, def os.FileMode, payload map[string]volumeFile) error {
	for _, it := range items {
		var (
			v   string
			err error
		)
		switch {
		case it.FieldRef != nil:
			v, err = w.k.fieldValue(pod, it.FieldRef.FieldPath, pod.Status.PodIP)
		case it.ResourceFieldRef != nil:
			v, err = w.k.resourceValue(ctx, pod, it.ResourceFieldRef)
		default:
			err = fmt.Errorf("downward API item %s has neither fieldRef nor resourceFieldRef", it.Path)
		}
		if err != nil {
			return err
		}
		payload[it.Path] = volumeFile{data: []byte(v), mode: mode(it.Mode, int32(def))}
	}
	return nil
}

// projectedFiles is the payload of a projected volume.
func (w *podWorker) projectedFiles(ctx context.Context, pod *corev1.Pod, volume string, p *corev1.ProjectedVolumeSource, now time.Time) (map[string]volumeFile, error) {
	def := mode(p.DefaultMode, corev1.ProjectedVolumeSourceDefaultMode)
	payload := map[string]volumeFile{}
	for i, s := range p.Sources {
		var err error
		switch {
		case s.Secret != nil:
			err = w.secretFiles(ctx, pod.Namespace, s.Secret.Name, s.Secret.Items, s.Secret.Optional, def, payload)
		case s.ConfigMap != nil:
			err = w.configMapFiles(ctx, pod.Namespace, s.ConfigMap.Name, s.ConfigMap.Items, s.ConfigMap.Optional, def, payload)
		case s.DownwardAPI != nil:
			err = w.downwardFiles(ctx, pod, s.DownwardAPI.Items, def, payload)
		case s.ServiceAccountToken != nil:
			var token string
			token, err = w.token(ctx, pod, s.ServiceAccountToken, now)
			payload[s.ServiceAccountToken.Path] = volumeFile{data: []byte(token), mode: def}
		case s.ClusterTrustBundle != nil:
			err = w.trustBundleFile(ctx, s.ClusterTrustBundle, def, payload)
		case s.PodCertificate != nil:
			err = w.podCertificateFiles(ctx, pod, volume, i, s.PodCertificate, def, payload, now)
		default:
			err = errors.New("unsupported projected volume source")
		}
		if err != nil {
			return nil, err
		}
	}
	return payload, nil
}

// token returns a token of the pod's ServiceAccount for a projection, bound to the pod,
// requesting a new one when the cached one is due for renewal.
func (w *podWorker) token(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection, now time.Time) (string, error) {
	exp := int64(3600)
	if p.ExpirationSeconds != nil {
		exp = *p.ExpirationSeconds
	}
	key := p.Audience + "/" + strconv.FormatInt(exp, 10)
	if tr := w.tokens[key]; tr != nil && !tokenDue(tr, now) {
		return tr.Status.Token, nil
	}
	if pod.Spec.ServiceAccountName == "" {
		return "", errors.New("the pod has no ServiceAccount to request a token for")
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
	}}
	if p.Audience != "" {
		req.Spec.Audiences = []string{p.Audience}
	}
	tr, err := w.k.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to fetch token: %w", err)
	}
	if tr.Spec.ExpirationSeconds == nil {
		tr.Spec.ExpirationSeconds = &exp
	}
	w.tokens[key] = tr
	return tr.Status.Token, nil
}

// tokenDue reports whether a token must be renewed: 80 % of its lifetime has passed, or 24 h.
func tokenDue(tr *authenticationv1.TokenRequest, now time.Time) bool {
	ttl := time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
	exp := tr.Status.ExpirationTimestamp.Time
	issued := exp.Add(-ttl)
	return now.After(issued.Add(tokenMaxAge)) || now.After(exp.Add(-ttl/5))
}

// fieldValue is the value of a downward API field of the pod (in env and volumes).
func (k *Kubelet) fieldValue(pod *corev1.Pod, path, podIP string) (string, error) {
	if key, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return k.cfg.NodeIP, nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q", path)
}

// subscript parses prefix['key'].
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// formatMap renders labels or annotations as the downward API does: key="value" lines,
// sorted.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, key := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%q", key, m[key])
	}
	return b.String()
}

// resourceValue is a container's request or limit in units of the divisor, rounded up, as the
// downward API's resourceFieldRef: an unset cpu, memory or ephemeral-storage limit is the
// node's allocatable, as the kubelet reports it.
func (k *Kubelet) resourceValue(ctx context.Context, pod *corev1.Pod, ref *corev1.ResourceFieldSelector) (string, error) {
	var c *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == ref.ContainerName || ref.ContainerName == "" && i == 0 {
			c = &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if c == nil && pod.Spec.InitContainers[i].Name == ref.ContainerName {
			c = &pod.Spec.InitContainers[i]
		}
	}
	if c == nil {
		return "", fmt.Errorf("container %q not found", ref.ContainerName)
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || kind != "limits" && kind != "requests" {
		return "", fmt.Errorf("unsupported container resource : %v", ref.Resource)
	}
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	q, set := list[corev1.ResourceName(name)]
	if !set && kind == "limits" {
		switch corev1.ResourceName(name) {
		case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
			q = k.nodeAllocatable()[corev1.ResourceName(name)]
		}
	}
	return formatResource(corev1.ResourceName(name), q, ref.Divisor), nil
}

// nodeAllocatable is the node's allocatable resources as its status reports them (cpu, memory
// and ephemeral-storage measured as nodeStatus does, without asking the runtime).
func (k *Kubelet) nodeAllocatable() corev1.ResourceList {
	var m measurements
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				m.memTotal = kb * 1024
			}
		}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(k.cfg.PodLogsDir, &st); err == nil {
		m.diskTotal = int64(st.Blocks) * int64(st.Bsize)
	}
	return k.allocatable(k.capacity(m))
}

// formatResource is q in units of divisor (1 when zero), rounded up: milli-units for cpu.
func formatResource(name corev1.ResourceName, q, divisor resource.Quantity) string {
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == corev1.ResourceCPU {
		m, d := q.MilliValue(), divisor.MilliValue()
		return strconv.FormatInt(ceilDiv(m, d), 10)
	}
	return strconv.FormatInt(ceilDiv(q.Value(), divisor.Value()), 10)
}

func ceilDiv(a, b int64) int64 {
	if b <= 0 {
		return a
	}
	if a%b == 0 || a < 0 {
		return a / b
	}
	return a/b + 1
}

// mounts is the CRI mounts of container c: each volumeMount bound to its volume's directory
// (subPath, or subPathExpr expanded with the container's environment, inside it). Secret,
// ConfigMap, downward API and projected volumes are always read-only, as the kubelet mounts
// them.
func mounts(pod *corev1.Pod, c *corev1.Container, dirs map[string]string, env []corev1.EnvVar) ([]*runtimeapi.Mount, error) {
	readOnlyKind := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		readOnlyKind[v.Name] = v.Secret != nil || v.ConfigMap != nil || v.DownwardAPI != nil || v.Projected != nil
	}
	var out []*runtimeapi.Mount
	for _, m := range c.VolumeMounts {
		dir, ok := dirs[m.Name]
		if !ok {
			return nil, fmt.Errorf("volume %q of volumeMount %s is not set up", m.Name, m.MountPath)
		}
		subPath := m.SubPath
		if m.SubPathExpr != "" {
			var err error
			if subPath, err = expandSubPath(m.SubPathExpr, env); err != nil {
				return nil, err
			}
		}
		host := dir
		if subPath != "" {
			if filepath.IsAbs(subPath) {
				return nil, fmt.Errorf("error SubPath `%s` must not be an absolute path", subPath)
			}
			if slices.Contains(strings.Split(filepath.ToSlash(subPath), "/"), "..") {
				return nil, fmt.Errorf("unable to provision SubPath `%s`: must not contain '..'", subPath)
			}
			host = filepath.Join(dir, subPath)
			if readOnlyKind[m.Name] {
				// A subPath of a volume written atomically is a link through ..data: mount
				// what it points to now (a subPath mount never sees later updates).
				if resolved, err := filepath.EvalSymlinks(host); err == nil {
					host = resolved
				}
			} else if _, err := os.Lstat(host); os.IsNotExist(err) {
				// Made now with the volume's mode, so that an fsGroup may write in it.
				perm := os.FileMode(0o755)
				if info, err := os.Stat(dir); err == nil {
					perm = info.Mode() & (os.ModePerm | os.ModeSetgid)
				}
				if err := os.MkdirAll(host, perm); err != nil {
					return nil, err
				}
				if err := os.Chmod(host, perm); err != nil {
					return nil, err
				}
			}
		}
		out = append(out, &runtimeapi.Mount{
			ContainerPath: m.MountPath,
			HostPath:      host,
			Readonly:      m.ReadOnly || readOnlyKind[m.Name],
		})
	}
	return out, nil
}

// expandSubPath expands the $(VAR) references of a subPathExpr with the container's
// environment; a variable that is unset or empty is an error, as in Kubernetes.
func expandSubPath(expr string, env []corev1.EnvVar) (string, error) {
	vals := map[string]string{}
	for _, e := range env {
		vals[e.Name] = e.Value
	}
	var missing []string
	for rest := expr; ; {
		i := strings.Index(rest, "$(")
		if i < 0 {
			break
		}
		if i > 0 && rest[i-1] == '$' {
			rest = rest[i+2:]
			continue
		}
		end := strings.IndexByte(rest[i+2:], ')')
		if end < 0 {
			break
		}
		if name := rest[i+2 : i+2+end]; vals[name] == "" && !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
		rest = rest[i+3+end:]
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return "", fmt.Errorf("missing value for %s", strings.Join(missing, ", "))
	}
	return expandOne(expr, vals), nil
}

// mountFailed records a volume set-up failure as a Warning event FailedMount on the pod, once
// per distinct message, as the kubelet's "MountVolume.SetUp failed" events.
func (w *podWorker) mountFailed(ctx context.Context, pod *corev1.Pod, err error) {
	msg := err.Error()
	if msg == w.mountFailure || w.static {
		return
	}
	w.mountFailure = msg
	w.warn(ctx, pod, "", "FailedMount", msg)
}
