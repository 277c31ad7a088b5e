package kubelet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// Annotations of static pods (the same keys as Kubernetes').
const (
	annotConfigHash   = "kubernetes.io/config.hash"
	annotConfigSource = "kubernetes.io/config.source"
)

// readStaticPods reads every manifest (.yaml, .yml, .json) of dir. A static
// pod is named NAME-NODE, bound to this node, and its UID is a hash of the
// manifest and the node, so it is stable across kubelet restarts.
func (k *Kubelet) readStaticPods(dir string) (map[types.UID]*corev1.Pod, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return map[types.UID]*corev1.Pod{}, nil
		}
		return nil, err
	}
	out := map[types.UID]*corev1.Pod{}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		pod := &corev1.Pod{}
		if err := yaml.UnmarshalStrict(b, pod); err != nil {
			k.logf("static pod manifest %s: %v", e.Name(), err)
			continue
		}
		if pod.Name == "" {
			k.logf("static pod manifest %s has no metadata.name", e.Name())
			continue
		}
		sum := sha256.Sum256(append(append([]byte{}, b...), k.cfg.NodeName...))
		hash := hex.EncodeToString(sum[:16])
		if pod.Namespace == "" {
			pod.Namespace = metav1.NamespaceDefault
		}
		pod.Name = pod.Name + "-" + k.cfg.NodeName
		pod.UID = types.UID(hash)
		if pod.Annotations == nil {
			pod.Annotations = map[string]string{}
		}
		pod.Annotations[annotConfigHash] = hash
		pod.Annotations[annotConfigSource] = "file"
		pod.Spec.NodeName = k.cfg.NodeName
		defaultStaticPod(pod)
		out[pod.UID] = pod
	}
	return out, nil
}

// isStatic reports whether pod comes from the kubelet's static pod directory.
func isStatic(pod *corev1.Pod) bool {
	return pod.Annotations[annotConfigSource] == "file"
}

// defaultStaticPod fills the defaults the API server would.
func defaultStaticPod(pod *corev1.Pod) {
	if pod.Spec.RestartPolicy == "" {
		pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		if c.ImagePullPolicy == "" {
			c.ImagePullPolicy = corev1.PullIfNotPresent
			if !strings.Contains(c.Image, ":") || strings.HasSuffix(c.Image, ":latest") {
				c.ImagePullPolicy = corev1.PullAlways
			}
		}
		if c.TerminationMessagePath == "" {
			c.TerminationMessagePath = corev1.TerminationMessagePathDefault
		}
		if c.TerminationMessagePolicy == "" {
			c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
		}
	}
}

// staticLoop runs the static pods of Config.StaticPodPath and keeps their
// mirror pods in the API.
func (k *Kubelet) staticLoop(ctx context.Context, wg *sync.WaitGroup) {
	t := k.cfg.Clock.NewTicker(2 * k.cfg.SyncInterval)
	defer t.Stop()
	for {
		pods, err := k.readStaticPods(k.cfg.StaticPodPath)
		if err != nil {
			k.logf("reading static pods: %v", err)
		} else {
			k.syncStatics(ctx, pods, wg)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
	}
}

func (k *Kubelet) syncStatics(ctx context.Context, pods map[types.UID]*corev1.Pod, wg *sync.WaitGroup) {
	k.mu.Lock()
	old := k.statics
	k.statics = pods
	k.mu.Unlock()
	uids := make([]string, 0, len(pods))
	for uid := range pods {
		uids = append(uids, string(uid))
	}
	sort.Strings(uids)
	for _, uid := range uids {
		pod := pods[types.UID(uid)]
		k.updateWorker(ctx, pod, true, wg)
		k.ensureMirror(ctx, pod)
	}
	for uid, pod := range old {
		if _, ok := pods[uid]; ok {
			continue
		}
		k.mu.Lock()
		w := k.workers[uid]
		k.mu.Unlock()
		if w != nil {
			w.remove()
		}
		err := k.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			k.logf("deleting mirror pod %s/%s: %v", pod.Namespace, pod.Name, err)
		}
	}
}

// mirrorOf returns the mirror pod of a static pod.
func mirrorOf(pod *corev1.Pod, node *corev1.Node) *corev1.Pod {
	m := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels,
			Annotations: map[string]string{corev1.MirrorPodAnnotationKey: pod.Annotations[annotConfigHash]},
		},
		Spec: *pod.Spec.DeepCopy(),
	}
	for n, v := range pod.Annotations {
		m.Annotations[n] = v
	}
	if node != nil {
		ctrl := true
		m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID, Controller: &ctrl}}
	}
	return m
}

// ensureMirror creates the static pod's mirror pod when it is missing, and
// replaces a mirror of an older manifest.
func (k *Kubelet) ensureMirror(ctx context.Context, pod *corev1.Pod) {
	pods := k.client.CoreV1().Pods(pod.Namespace)
	cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
	if err == nil {
		if cur.Annotations[corev1.MirrorPodAnnotationKey] == pod.Annotations[annotConfigHash] && cur.DeletionTimestamp == nil {
			return
		}
		grace := int64(0)
		_ = pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace, Preconditions: &metav1.Preconditions{UID: &cur.UID}})
	} else if !apierrors.IsNotFound(err) {
		return
	}
	// A mirror pod is owned by its Node: until the node has registered, wait.
	node, err := k.client.CoreV1().Nodes().Get(ctx, k.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return
	}
	if _, err := pods.Create(ctx, mirrorOf(pod, node), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		k.logf("creating mirror pod %s/%s: %v", pod.Namespace, pod.Name, err)
		return
	}
	// The new mirror has no status: make the worker post it again.
	k.mu.Lock()
	w := k.workers[pod.UID]
	k.mu.Unlock()
	if w != nil {
		w.forgetPosted()
	}
}

// mirrorChanged reacts to a mirror pod's change: a deleted mirror is
// recreated by the static loop; its status is the worker's.
func (k *Kubelet) mirrorChanged(ctx context.Context, m *corev1.Pod) {
	if m.DeletionTimestamp == nil {
		return
	}
	grace := int64(0)
	err := k.client.CoreV1().Pods(m.Namespace).Delete(ctx, m.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace, Preconditions: &metav1.Preconditions{UID: &m.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		k.logf("deleting mirror pod %s/%s: %v", m.Namespace, m.Name, fmt.Errorf("%w", err))
	}
}
