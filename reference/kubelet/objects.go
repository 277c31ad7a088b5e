package kubelet

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

// The Secrets and ConfigMaps the node's pods use (volumes, env, envFrom) are served from one
// watch per referenced object, as upstream's watch-based Secret and ConfigMap managers
// (pkg/kubelet/util/manager/watch_based_manager.go): a reflector listing and watching
// fieldSelector metadata.name=NAME in the object's namespace — the only list and watch of these
// kinds the node authorizer allows a kubelet — shared by every pod of the node that references
// the object, started when the first such pod is registered and stopped when the last one goes.
// A settled pod's re-sync then reads memory instead of sending a GET per object per minute
// through the API server, its authorizer and the store; a change reaches the cache as a watch
// event, and the pods' volumes at their next re-sync, as before.
//
// An object the cache does not serve (a pod not registered: a static pod, or unit tests that
// build a Kubelet by hand; a watch that has not listed within objectSyncWait) is read with a
// GET, as before.

// objectSyncWait is how long a read waits for a new watch's first list before it falls back to
// a GET (upstream's managers wait up to a second, then fail).
const objectSyncWait = time.Second

// objectKey names one namespaced object.
type objectKey struct{ namespace, name string }

// objectCache keeps the watched objects of one kind. Its zero value is not usable: see
// newObjectCache; a nil *objectCache serves nothing.
type objectCache struct {
	// kind is the resource's singular name in errors ("secret", "configmap").
	kind string
	// newListWatch lists and watches the one object key names.
	newListWatch func(key objectKey) cache.ListerWatcher
	// expected is an empty object of the kind, for the reflector's type check.
	expected runtime.Object

	mu sync.Mutex
	// items are the watched objects by key.
	items map[objectKey]*watchedObject
	// pods are the keys each registered pod references.
	pods map[types.UID][]objectKey
}

// watchedObject is one object's reflector and store.
type watchedObject struct {
	// refs counts the registered pods that reference the object.
	refs  int
	store *syncedStore
	// ctx ends when the reflector stops (the last reference went, or the kubelet's Run ended).
	ctx  context.Context
	stop context.CancelFunc
}

// syncedStore is a store that closes synced on its first Replace (the reflector's first list).
type syncedStore struct {
	cache.Store
	once   sync.Once
	synced chan struct{}
}

func (s *syncedStore) Replace(list []any, rv string) error {
	err := s.Store.Replace(list, rv)
	s.once.Do(func() { close(s.synced) })
	return err
}

// newSecretCache and newConfigMapCache watch the node's Secrets and ConfigMaps through client;
// failed lists and watches are logged with logf (the reflector retries them with back-off).
func newSecretCache(client kubernetes.Interface, logf func(string, ...any)) *objectCache {
	return newObjectCache("secret", &corev1.Secret{}, client, logf, func(ctx context.Context, key objectKey, opts metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Secrets(key.namespace).List(ctx, opts)
	}, func(ctx context.Context, key objectKey, opts metav1.ListOptions) (watch.Interface, error) {
		return client.CoreV1().Secrets(key.namespace).Watch(ctx, opts)
	})
}

func newConfigMapCache(client kubernetes.Interface, logf func(string, ...any)) *objectCache {
	return newObjectCache("configmap", &corev1.ConfigMap{}, client, logf, func(ctx context.Context, key objectKey, opts metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().ConfigMaps(key.namespace).List(ctx, opts)
	}, func(ctx context.Context, key objectKey, opts metav1.ListOptions) (watch.Interface, error) {
		return client.CoreV1().ConfigMaps(key.namespace).Watch(ctx, opts)
	})
}

func newObjectCache(kind string, expected runtime.Object, client kubernetes.Interface, logf func(string, ...any),
	list func(context.Context, objectKey, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, objectKey, metav1.ListOptions) (watch.Interface, error)) *objectCache {
	return &objectCache{
		kind:     kind,
		expected: expected,
		items:    map[objectKey]*watchedObject{},
		pods:     map[types.UID][]objectKey{},
		newListWatch: func(key objectKey) cache.ListerWatcher {
			selector := fields.OneTermEqualSelector(metav1.ObjectNameField, key.name).String()
			failed := func(ctx context.Context, verb string, err error) {
				if err != nil && ctx.Err() == nil && logf != nil {
					logf("%s %s %s/%s: %v", verb, kind, key.namespace, key.name, err)
				}
			}
			lw := &cache.ListWatch{
				ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
					opts.FieldSelector = selector
					obj, err := list(ctx, key, opts)
					failed(ctx, "listing", err)
					return obj, err
				},
				WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
					opts.FieldSelector = selector
					w, err := watchFn(ctx, key, opts)
					failed(ctx, "watching", err)
					return w, err
				},
			}
			// A fake clientset (unit tests) does not speak the streaming list.
			return cache.ToListWatcherWithWatchListSemantics(lw, client)
		},
	}
}

// register makes the cache watch exactly keys for the pod uid: the objects it newly references
// are watched (a reflector started with ctx when no other pod referenced them), those it no
// longer references are released (the reflector stopped when it was the last). With no keys it
// unregisters the pod.
func (c *objectCache) register(ctx context.Context, uid types.UID, keys []objectKey) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.pods[uid]
	for _, key := range keys {
		item := c.items[key]
		if item == nil || item.ctx.Err() != nil {
			// New, or left over from an earlier Run whose context ended: (re)start it,
			// keeping the count of the pods that still reference it.
			refs := 0
			if item != nil {
				refs = item.refs
			}
			item = c.start(ctx, key)
			item.refs = refs
			c.items[key] = item
		}
		item.refs++
	}
	for _, key := range old {
		c.release(key)
	}
	if len(keys) == 0 {
		delete(c.pods, uid)
		return
	}
	c.pods[uid] = keys
}

// unregister releases every object the pod uid referenced.
func (c *objectCache) unregister(uid types.UID) {
	c.register(context.Background(), uid, nil)
}

// release drops one reference to key, stopping its reflector with the last; c.mu is held.
func (c *objectCache) release(key objectKey) {
	item := c.items[key]
	if item == nil {
		return
	}
	item.refs--
	if item.refs <= 0 {
		item.stop()
		delete(c.items, key)
	}
}

// start runs a reflector for key until the returned item is stopped or ctx ends.
func (c *objectCache) start(ctx context.Context, key objectKey) *watchedObject {
	ctx, stop := context.WithCancel(ctx)
	store := &syncedStore{Store: cache.NewStore(cache.MetaNamespaceKeyFunc), synced: make(chan struct{})}
	logger := klog.FromContext(ctx)
	r := cache.NewReflectorWithOptions(c.newListWatch(key), c.expected, store, cache.ReflectorOptions{
		Name:   "kubelet " + c.kind + " " + key.namespace + "/" + key.name,
		Logger: &logger,
	})
	go r.RunWithContext(ctx)
	return &watchedObject{store: store, ctx: ctx, stop: stop}
}

// get returns the object namespace/name from its watch: served is false when the cache does
// not watch it (not registered, stopped, or not listed within objectSyncWait) and the caller
// must read it from the API itself. A watched object that does not exist is a NotFound error.
func (c *objectCache) get(ctx context.Context, namespace, name string) (obj any, served bool, err error) {
	if c == nil {
		return nil, false, nil
	}
	c.mu.Lock()
	item := c.items[objectKey{namespace, name}]
	c.mu.Unlock()
	if item == nil || item.ctx.Err() != nil {
		return nil, false, nil
	}
	select {
	case <-item.store.synced:
	default:
		t := time.NewTimer(objectSyncWait)
		defer t.Stop()
		select {
		case <-item.store.synced:
		case <-t.C:
			return nil, false, nil
		case <-item.ctx.Done():
			return nil, false, nil
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	obj, exists, err := item.store.GetByKey(namespace + "/" + name)
	if err != nil {
		return nil, false, err
	}
	if !exists {
		return nil, true, apierrors.NewNotFound(corev1.Resource(c.kind), name)
	}
	return obj, true, nil
}

// secret reads the Secret namespace/name: from its watch when a registered pod references it,
// else with a GET. The object returned may be shared: callers must not modify it.
func (k *Kubelet) secret(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	obj, served, err := k.secrets.get(ctx, namespace, name)
	if served {
		if err != nil {
			return nil, err
		}
		return obj.(*corev1.Secret), nil
	}
	if err != nil {
		return nil, err
	}
	return k.client.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}

// configMap reads the ConfigMap namespace/name as secret reads a Secret.
func (k *Kubelet) configMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error) {
	obj, served, err := k.configMaps.get(ctx, namespace, name)
	if served {
		if err != nil {
			return nil, err
		}
		return obj.(*corev1.ConfigMap), nil
	}
	if err != nil {
		return nil, err
	}
	return k.client.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
}

// registerPodObjects makes the kubelet watch the Secrets and ConfigMaps pod references (its
// volumes, projected sources, env and envFrom of every container) for as long as the pod is
// registered.
func (k *Kubelet) registerPodObjects(ctx context.Context, pod *corev1.Pod) {
	secrets, configMaps := podObjectKeys(pod)
	k.secrets.register(ctx, pod.UID, secrets)
	k.configMaps.register(ctx, pod.UID, configMaps)
}

// unregisterPodObjects releases what registerPodObjects watched for the pod uid.
func (k *Kubelet) unregisterPodObjects(uid types.UID) {
	k.secrets.unregister(uid)
	k.configMaps.unregister(uid)
}

// podObjectKeys are the Secrets and ConfigMaps (in the pod's namespace) that the kubelet reads
// for pod, each once.
func podObjectKeys(pod *corev1.Pod) (secrets, configMaps []objectKey) {
	addTo := func(list *[]objectKey, name string) {
		if name == "" {
			return
		}
		key := objectKey{pod.Namespace, name}
		for _, k := range *list {
			if k == key {
				return
			}
		}
		*list = append(*list, key)
	}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if v.Secret != nil {
			addTo(&secrets, v.Secret.SecretName)
		}
		if v.ConfigMap != nil {
			addTo(&configMaps, v.ConfigMap.Name)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					addTo(&secrets, s.Secret.Name)
				}
				if s.ConfigMap != nil {
					addTo(&configMaps, s.ConfigMap.Name)
				}
			}
		}
	}
	visit := func(env []corev1.EnvVar, from []corev1.EnvFromSource) {
		for _, e := range env {
			if e.ValueFrom == nil {
				continue
			}
			if e.ValueFrom.SecretKeyRef != nil {
				addTo(&secrets, e.ValueFrom.SecretKeyRef.Name)
			}
			if e.ValueFrom.ConfigMapKeyRef != nil {
				addTo(&configMaps, e.ValueFrom.ConfigMapKeyRef.Name)
			}
		}
		for _, f := range from {
			if f.SecretRef != nil {
				addTo(&secrets, f.SecretRef.Name)
			}
			if f.ConfigMapRef != nil {
				addTo(&configMaps, f.ConfigMapRef.Name)
			}
		}
	}
	for _, c := range pod.Spec.InitContainers {
		visit(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.Containers {
		visit(c.Env, c.EnvFrom)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		visit(c.Env, c.EnvFrom)
	}
	return secrets, configMaps
}
