package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/apiserver/registry"
)

// ConflictMessage is the message Kubernetes gives for a stale resourceVersion.
const ConflictMessage = "the object has been modified; please apply your changes to the latest version and try again"

// Objects stores typed objects of registered resources in a byte-level store.
type Objects struct {
	kv           interfaces.Store
	transformers Transformers
	hubs         hubs

	cacheMu sync.Mutex
	caches  map[*registry.Resource]*Cache // cache.go

	noWatchCache bool // watchcache.go
}

// DisableWatchCache makes every list read the store (kube-apiserver's --watch-cache=false);
// call it before the first list.
func (o *Objects) DisableWatchCache() { o.noWatchCache = true }

// New returns an Objects over kv that stores values as they are.
func New(kv interfaces.Store) *Objects { return &Objects{kv: kv} }

// NewTransformed returns an Objects over kv that passes the values of the resources t names
// through their transformer (encryption at rest) on every write and read, watches included.
// The store itself sees only the transformed bytes.
func NewTransformed(kv interfaces.Store, t Transformers) *Objects {
	return &Objects{kv: kv, transformers: t}
}

// KV returns the underlying store.
func (o *Objects) KV() interfaces.Store { return o.kv }

// Key returns the storage key of one object.
func Key(res *registry.Resource, namespace, name string) string {
	if res.Namespaced {
		return "/registry/" + res.Storage() + "/" + namespace + "/" + name
	}
	return "/registry/" + res.Storage() + "/" + name
}

// Prefix returns the key prefix of a collection: every namespace when namespace is empty.
func Prefix(res *registry.Resource, namespace string) string {
	if res.Namespaced && namespace != "" {
		return "/registry/" + res.Storage() + "/" + namespace + "/"
	}
	return "/registry/" + res.Storage() + "/"
}

// Encode returns the stored form of obj: its JSON with apiVersion and kind set and without
// resourceVersion (managedFields are stored, as kube-apiserver stores them).
func Encode(res *registry.Resource, obj runtime.Object) ([]byte, error) {
	obj = obj.DeepCopyObject()
	obj.GetObjectKind().SetGroupVersionKind(res.GroupVersionKind())
	return marshalStored(obj)
}

// marshalStored returns obj's JSON without resourceVersion (the store's revision is the
// object's version); obj is the caller's own copy.
func marshalStored(obj runtime.Object) ([]byte, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	m.SetResourceVersion("")
	return json.Marshal(obj)
}

// Decode turns a stored value into a typed object with resourceVersion = rev.
func Decode(res *registry.Resource, data []byte, rev int64) (runtime.Object, error) {
	obj, err := decodeStoredVersion(res, data, rev)
	if err != nil {
		return nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(res.GroupVersionKind())
	defaultOnRead(res, obj)
	return obj, nil
}

// encode is Encode, converting obj to the storage version first when res has a Converter.
func encode(ctx context.Context, res *registry.Resource, obj runtime.Object) ([]byte, error) {
	if res.Converter == nil {
		data, err := Encode(res, obj)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		return data, nil
	}
	obj = obj.DeepCopyObject()
	obj.GetObjectKind().SetGroupVersionKind(res.GroupVersionKind())
	stored, err := res.Converter.ToStorage(ctx, obj)
	if err != nil {
		return nil, conversionError(err)
	}
	data, err := marshalStored(stored)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return data, nil
}

// decode is Decode, converting the stored object from the version it was stored at when res
// has a Converter.
func decode(ctx context.Context, res *registry.Resource, data []byte, rev int64) (runtime.Object, error) {
	if res.Converter == nil {
		return Decode(res, data, rev)
	}
	obj, err := decodeStoredVersion(res, data, rev)
	if err != nil {
		return nil, err
	}
	out, err := res.Converter.FromStorage(ctx, obj)
	if err != nil {
		return nil, conversionError(err)
	}
	defaultOnRead(res, out)
	return out, nil
}

// defaultOnRead applies the strategy's defaults to an object read from storage, at the version
// it is served at, for resources that ask for it.
func defaultOnRead(res *registry.Resource, obj runtime.Object) {
	if res.DefaultOnRead && res.Strategy != nil {
		res.Strategy.Default(obj)
	}
}

// decodeStoredVersion turns a stored value into an object of res at the version it was stored
// at (its apiVersion), with resourceVersion = rev.
func decodeStoredVersion(res *registry.Resource, data []byte, rev int64) (runtime.Object, error) {
	obj := res.New()
	if st, ok := res.Converter.(registry.StoredTyper); ok {
		obj = st.NewStored()
	}
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("decoding stored %s: %w", res.Resource, err))
	}
	if obj.GetObjectKind().GroupVersionKind().Empty() {
		obj.GetObjectKind().SetGroupVersionKind(res.GroupVersionKind())
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	if rev > 0 {
		m.SetResourceVersion(strconv.FormatInt(rev, 10))
	}
	return obj, nil
}

// decodePage decodes the values of one page of a list (plain, read at revs): with a
// ListVersionConverter, converted all at once.
func decodePage(ctx context.Context, res *registry.Resource, plain [][]byte, revs []int64) ([]runtime.Object, error) {
	out := make([]runtime.Object, 0, len(plain))
	lc, batch := res.Converter.(registry.ListVersionConverter)
	for i := range plain {
		var obj runtime.Object
		var err error
		if batch {
			obj, err = decodeStoredVersion(res, plain[i], revs[i])
		} else {
			obj, err = decode(ctx, res, plain[i], revs[i])
		}
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
	if !batch || len(out) == 0 {
		return out, nil
	}
	converted, err := lc.FromStorageList(ctx, out)
	if err != nil {
		return nil, conversionError(err)
	}
	for _, obj := range converted {
		defaultOnRead(res, obj)
	}
	return converted, nil
}

// conversionError is the error of a failed conversion: a Status error as it is, anything else
// (a webhook that failed or answered wrongly) a 500, as kube-apiserver answers.
func conversionError(err error) error {
	if _, ok := err.(apierrors.APIStatus); ok {
		return err
	}
	return apierrors.NewInternalError(err)
}

// ParseResourceVersion parses a resourceVersion; "" is 0.
func ParseResourceVersion(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || n < 0 {
		return 0, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv))
	}
	return n, nil
}

// MapError rewrites a store error into an error about res/name.
func MapError(res *registry.Resource, name string, err error) error {
	if err == nil {
		return nil
	}
	gr := res.GroupResource()
	switch {
	case apierrors.IsNotFound(err):
		return apierrors.NewNotFound(gr, name)
	case apierrors.IsAlreadyExists(err):
		return apierrors.NewAlreadyExists(gr, name)
	case apierrors.IsConflict(err):
		return apierrors.NewConflict(gr, name, errors.New(ConflictMessage))
	case interfaces.IsExpired(err):
		expired := apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %s", expiredDetail(err)))
		var st apierrors.APIStatus
		if errors.As(err, &st) {
			// The inconsistent continuation a store offers for a compacted continue token.
			expired.ErrStatus.ListMeta.Continue = st.Status().ListMeta.Continue
		}
		return expired
	case apierrors.IsBadRequest(err):
		return err
	}
	if _, ok := err.(apierrors.APIStatus); ok {
		return err
	}
	return apierrors.NewInternalError(fmt.Errorf("storage: %w", err))
}

func expiredDetail(err error) string {
	if s, ok := err.(apierrors.APIStatus); ok {
		return s.Status().Message
	}
	return err.Error()
}

// Create stores a new object and returns it with its resourceVersion.
func (o *Objects) Create(ctx context.Context, res *registry.Resource, obj runtime.Object) (runtime.Object, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	data, err := encode(ctx, res, obj)
	if err != nil {
		return nil, err
	}
	key := Key(res, m.GetNamespace(), m.GetName())
	stored, err := o.toStorage(ctx, res, key, data)
	if err != nil {
		return nil, err
	}
	rev, err := o.kv.Create(ctx, key, stored)
	if err != nil {
		return nil, MapError(res, m.GetName(), err)
	}
	out, err := decode(ctx, res, data, rev)
	if err == nil {
		o.written(res, out, rev, false)
	}
	return out, err
}

// Get reads one object.
func (o *Objects) Get(ctx context.Context, res *registry.Resource, namespace, name string) (runtime.Object, error) {
	kv, err := o.kv.Get(ctx, Key(res, namespace, name))
	if err != nil {
		return nil, MapError(res, name, err)
	}
	plain, _, err := o.fromStorage(ctx, res, kv.Key, kv.Value)
	if err != nil {
		return nil, err
	}
	return decode(ctx, res, plain, kv.ModRevision)
}

// ListOptions select a page of a list.
type ListOptions struct {
	// Revision reads the list exactly at that revision (from the store); 0 reads the latest
	// state, or with MinRevision any state at or after MinRevision.
	Revision    int64
	MinRevision int64
	Limit       int64
	Continue    string
	// Filter keeps the objects it returns true for; nil keeps all.
	Filter func(runtime.Object) bool
	// Cached says the caller does not modify the objects it gets: the list may be answered
	// from the resource's watch cache, whose objects are shared (watchcache.go).
	Cached bool
}

// ListResult is one page of objects.
type ListResult struct {
	Items     []runtime.Object
	Revision  int64
	Continue  string
	Remaining *int64
}

// List reads a page of a collection. With a filter and a limit it keeps reading store pages
// until Limit matching objects are found or the collection ends, so a page never holds more than
// Limit objects and a continue token resumes right after the last object examined.
func (o *Objects) List(ctx context.Context, res *registry.Resource, namespace string, opts ListOptions) (ListResult, error) {
	if opts.Cached {
		lr, err := o.cachedList(ctx, res, namespace, opts)
		if !errors.Is(err, errNotCached) {
			return lr, err
		}
	}
	prefix := Prefix(res, namespace)
	if tok, ours, err := decodeCacheToken(opts.Continue, prefix); ours {
		// A continuation of a cache's list whose copy is gone: the store at its revision.
		if err != nil {
			return ListResult{}, err
		}
		return o.listAfter(ctx, res, prefix, tok, opts)
	}
	out := ListResult{Items: []runtime.Object{}}
	cont := opts.Continue
	rev := opts.Revision
	for {
		page := interfaces.ListOptions{Revision: rev, Continue: cont}
		if opts.Limit > 0 {
			page.Limit = opts.Limit - int64(len(out.Items))
		}
		lr, err := o.kv.List(ctx, prefix, page)
		if err != nil {
			return ListResult{}, MapError(res, "", err)
		}
		rev = lr.Revision
		out.Revision = lr.Revision
		plains := make([][]byte, 0, len(lr.Items))
		revs := make([]int64, 0, len(lr.Items))
		for _, kv := range lr.Items {
			plain, _, err := o.fromStorage(ctx, res, kv.Key, kv.Value)
			if err != nil {
				return ListResult{}, err
			}
			plains = append(plains, plain)
			revs = append(revs, kv.ModRevision)
		}
		objs, err := decodePage(ctx, res, plains, revs)
		if err != nil {
			return ListResult{}, err
		}
		for _, obj := range objs {
			if opts.Filter == nil || opts.Filter(obj) {
				out.Items = append(out.Items, obj)
			}
		}
		out.Continue = lr.Continue
		// remainingItemCount comes with a continue token only: the last page has none.
		if opts.Filter == nil && lr.Continue != "" {
			out.Remaining = lr.RemainingItemCount
		}
		if lr.Continue == "" || opts.Limit <= 0 || int64(len(out.Items)) >= opts.Limit {
			return out, nil
		}
		cont = lr.Continue
	}
}

// listAfter reads from the store the page after tok.After at tok.Revision (a continuation of
// a list answered by the watch cache), walking the store's pages from the start of prefix.
func (o *Objects) listAfter(ctx context.Context, res *registry.Resource, prefix string, tok cacheToken, opts ListOptions) (ListResult, error) {
	out := ListResult{Items: []runtime.Object{}, Revision: tok.Revision}
	cont := ""
	last := tok.After
	for {
		lr, err := o.kv.List(ctx, prefix, interfaces.ListOptions{Revision: tok.Revision, Limit: 500, Continue: cont})
		if err != nil {
			return ListResult{}, MapError(res, "", err)
		}
		for _, kv := range lr.Items {
			if kv.Key <= tok.After {
				continue
			}
			if opts.Limit > 0 && int64(len(out.Items)) >= opts.Limit {
				out.Continue = encodeCacheToken(cacheToken{Revision: tok.Revision, Prefix: prefix, After: last})
				return out, nil
			}
			last = kv.Key
			obj, err := o.decodeStored(ctx, res, kv.Key, kv.Value, kv.ModRevision)
			if err != nil {
				return ListResult{}, err
			}
			if opts.Filter == nil || opts.Filter(obj) {
				out.Items = append(out.Items, obj)
			}
		}
		if lr.Continue == "" {
			return out, nil
		}
		cont = lr.Continue
	}
}

// compacted asks the store whether rev is still readable under prefix (the cheapest read at a
// revision: one key): an Expired error when the store has compacted it, another error when the
// read failed, nil when it is readable.
func (o *Objects) compacted(ctx context.Context, prefix string, rev int64) error {
	_, err := o.kv.List(ctx, prefix, interfaces.ListOptions{Revision: rev, Limit: 1})
	return err
}

// ErrDelete is returned by an update function to delete the object instead of writing it.
var ErrDelete = errors.New("delete object")

// UpdateFunc computes the new object from the current one (a private copy it may modify). It
// returns ErrDelete to delete the object instead, or any other error to abort.
type UpdateFunc func(current runtime.Object) (runtime.Object, error)

// UpdateResult is the outcome of Update.
type UpdateResult struct {
	// Object is the written object, or the last state of a deleted one.
	Object runtime.Object
	// Previous is the object the update function was applied to.
	Previous runtime.Object
	// Deleted is true when the update function asked for deletion.
	Deleted bool
	// Unchanged is true when the update function produced the same bytes and nothing was written.
	Unchanged bool
}

// Update runs a read-modify-write loop: it reads the object, applies fn and writes the result if
// the object was not changed in between, retrying on such races. Errors from fn are returned as
// they are (a Conflict from fn is not retried).
func (o *Objects) Update(ctx context.Context, res *registry.Resource, namespace, name string, fn UpdateFunc) (UpdateResult, error) {
	key := Key(res, namespace, name)
	for {
		if err := ctx.Err(); err != nil {
			return UpdateResult{}, apierrors.NewTimeoutError(err.Error(), 1)
		}
		kv, err := o.kv.Get(ctx, key)
		if err != nil {
			return UpdateResult{}, MapError(res, name, err)
		}
		curData, stale, err := o.fromStorage(ctx, res, key, kv.Value)
		if err != nil {
			return UpdateResult{}, err
		}
		cur, err := decode(ctx, res, curData, kv.ModRevision)
		if err != nil {
			return UpdateResult{}, err
		}
		next, err := fn(cur.DeepCopyObject())
		if errors.Is(err, ErrDelete) {
			last, derr := o.kv.Delete(ctx, key, kv.ModRevision)
			if apierrors.IsConflict(derr) {
				continue
			}
			if derr != nil {
				return UpdateResult{}, MapError(res, name, derr)
			}
			obj, derr := o.decodeStored(ctx, res, key, last.Value, last.ModRevision)
			if derr != nil {
				return UpdateResult{}, derr
			}
			o.written(res, obj, last.ModRevision, true)
			return UpdateResult{Object: obj, Previous: cur, Deleted: true}, nil
		}
		if err != nil {
			return UpdateResult{}, err
		}
		data, err := encode(ctx, res, next)
		if err != nil {
			return UpdateResult{}, err
		}
		// A value read with an older key is rewritten even when unchanged (key rotation).
		if !stale && string(data) == string(curData) {
			return UpdateResult{Object: cur, Previous: cur, Unchanged: true}, nil
		}
		stored, err := o.toStorage(ctx, res, key, data)
		if err != nil {
			return UpdateResult{}, err
		}
		rev, err := o.kv.Update(ctx, key, stored, kv.ModRevision)
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return UpdateResult{}, MapError(res, name, err)
		}
		obj, err := decode(ctx, res, data, rev)
		if err != nil {
			return UpdateResult{}, err
		}
		o.written(res, obj, rev, false)
		return UpdateResult{Object: obj, Previous: cur}, nil
	}
}

// Delete removes an object; expectedRevision 0 is unconditional. It returns the last state.
func (o *Objects) Delete(ctx context.Context, res *registry.Resource, namespace, name string, expectedRevision int64) (runtime.Object, error) {
	key := Key(res, namespace, name)
	last, err := o.kv.Delete(ctx, key, expectedRevision)
	if err != nil {
		return nil, MapError(res, name, err)
	}
	obj, err := o.decodeStored(ctx, res, key, last.Value, last.ModRevision)
	if err == nil {
		o.written(res, obj, last.ModRevision, true)
	}
	return obj, err
}

// decodeStored turns stored bytes read at key into a typed object with resourceVersion = rev.
func (o *Objects) decodeStored(ctx context.Context, res *registry.Resource, key string, stored []byte, rev int64) (runtime.Object, error) {
	plain, _, err := o.fromStorage(ctx, res, key, stored)
	if err != nil {
		return nil, err
	}
	return decode(ctx, res, plain, rev)
}

// EventType is the type of a decoded change.
type EventType = interfaces.EventType

// Event is one decoded change. For a deletion Object is the last state with the resourceVersion
// of the delete; Previous is the state before the change (nil for a creation).
type Event struct {
	Type     EventType
	Object   runtime.Object
	Previous runtime.Object
	Revision int64

	encoded *encoded // the Object's JSON, shared by the watchers of a hub; nil: not shared
}

// Watch follows a collection from fromRevision (0: from now). Events are delivered in revision
// order on the returned channel, which is closed when the watch ends; errc then yields the error
// that ended it (nil on cancellation), already mapped to the resource.
//
// Watches share one store watch per resource (see hubs); a watch that needs changes the shared
// watch has already passed reads the store on its own. The objects of the events may be shared
// by several watches: receivers must not modify them.
func (o *Objects) Watch(ctx context.Context, res *registry.Resource, namespace string, fromRevision int64) (<-chan Event, <-chan error, error) {
	return o.WatchWith(ctx, res, namespace, fromRevision, WatchOptions{})
}

// WatchOptions narrow what a watch needs delivered; the receiver still filters every event.
type WatchOptions struct {
	// IndexValue, when set on a resource with a WatchIndex field, says the watch selects only
	// objects whose field has this value: a shared watch then receives only the changes of
	// objects that have or had it.
	IndexValue *string
}

// WatchWith is Watch with options.
func (o *Objects) WatchWith(ctx context.Context, res *registry.Resource, namespace string, fromRevision int64, opts WatchOptions) (<-chan Event, <-chan error, error) {
	if fromRevision == 0 {
		cur, err := o.kv.CurrentRevision(ctx)
		if err != nil {
			return nil, nil, MapError(res, "", err)
		}
		fromRevision = cur
	} else if err := o.compacted(ctx, Prefix(res, namespace), fromRevision); interfaces.IsExpired(err) {
		// A shared watch (running since before the compaction) or its history could still
		// deliver the changes after a compacted revision: the store decides, as for its own
		// watches — 410 Gone.
		return nil, nil, MapError(res, "", err)
	}
	if out, errc, ok, err := o.sharedWatch(ctx, res, namespace, fromRevision, opts); err != nil || ok {
		return out, errc, err
	}
	w, err := o.kv.Watch(ctx, Prefix(res, namespace), fromRevision)
	if err != nil {
		return nil, nil, MapError(res, "", err)
	}
	out := make(chan Event)
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		defer close(out)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				errc <- nil
				return
			case ev, ok := <-w.Events():
				if !ok {
					errc <- MapError(res, "", w.Err())
					return
				}
				obj, err := o.decodeStored(ctx, res, ev.KV.Key, ev.KV.Value, ev.KV.ModRevision)
				if err != nil {
					errc <- err
					return
				}
				var prev runtime.Object
				if ev.PrevValue != nil {
					if prev, err = o.decodeStored(ctx, res, ev.KV.Key, ev.PrevValue, 0); err != nil {
						errc <- err
						return
					}
				}
				select {
				case out <- Event{Type: ev.Type, Object: obj, Previous: prev, Revision: ev.KV.ModRevision}:
				case <-ctx.Done():
					errc <- nil
					return
				}
			}
		}
	}()
	return out, errc, nil
}
