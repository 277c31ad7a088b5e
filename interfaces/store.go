package interfaces

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Store is the byte-level storage contract under the API server, shaped like
// etcd: string keys, opaque byte values and int64 revisions.
//
// Revisions: every successful write (Create, Update, Delete) is one
// transaction that moves the store's revision forward; the revisions handed
// out are strictly increasing (a backend may skip numbers, etcd does not).
// A key's ModRevision is the revision of the write that produced its current
// value and CreateRevision that of the Create that made it. Revision 0 is
// never a valid write revision and means "latest" or "unconditional" where the
// methods say so.
//
// Errors are classified with k8s.io/apimachinery/pkg/api/errors:
// apierrors.IsNotFound, IsAlreadyExists, IsConflict, IsResourceExpired (410)
// and IsBadRequest. Use the New… constructors of this package to produce
// them. Any other error is a backend failure (unavailable, closed) and the
// caller must assume nothing about whether the write happened.
//
// A Store is safe for concurrent use by many goroutines.
type Store interface {
	// Create stores value under key if and only if key does not exist.
	// It returns the revision of the write. If key exists it fails with
	// AlreadyExists and changes nothing. Not idempotent: a retried Create of
	// the same key fails with AlreadyExists.
	Create(ctx context.Context, key string, value []byte) (revision int64, err error)

	// Get returns the current value of key. A missing key fails with
	// NotFound; it is never reported as an empty value with a nil error.
	Get(ctx context.Context, key string) (KeyValue, error)

	// List returns the keys that start with prefix, in ascending key order,
	// as they were at one single revision: opts.Revision when it is non-zero,
	// otherwise the latest revision at the time of the call. The result's
	// Revision says which. With opts.Limit > 0 at most Limit items are returned
	// and Continue is a non-empty opaque token when more keys follow; passing
	// it back in opts.Continue (with the same prefix) returns the next page as
	// of the same revision as the first page. A revision that has been
	// compacted fails with Expired; when the list was a continuation, the
	// Expired error (NewExpiredContinue) carries in its Status's
	// metadata.continue a token resuming after the same key at the latest
	// revision. A malformed continue token fails with BadRequest.
	List(ctx context.Context, prefix string, opts ListOptions) (ListResult, error)

	// Update replaces the value of an existing key. When expectedRevision is
	// non-zero the write happens only if the key's ModRevision equals it;
	// otherwise it fails with Conflict and changes nothing (compare-and-swap).
	// A missing key fails with NotFound. It returns the revision of the write.
	Update(ctx context.Context, key string, value []byte, expectedRevision int64) (revision int64, err error)

	// Delete removes key, with the same expectedRevision precondition as
	// Update (0 means unconditional). It returns the value the key held just
	// before deletion, with ModRevision set to the revision of the delete. A
	// missing key fails with NotFound, so a repeated Delete is not
	// idempotent in its result, only in its effect.
	Delete(ctx context.Context, key string, expectedRevision int64) (KeyValue, error)

	// Watch streams every change to keys under prefix with a revision
	// greater than fromRevision, in revision order, with no gaps: each write
	// that touched the prefix after fromRevision is delivered exactly once.
	// fromRevision 0 means "from now": only changes after the store's
	// current revision. A fromRevision older than the compacted revision
	// fails with Expired, either at once or as the watch's terminal error if
	// the history is compacted while the watcher is catching up. The watch
	// ends when ctx is done or Stop is called.
	Watch(ctx context.Context, prefix string, fromRevision int64) (Watcher, error)

	// Compact discards the history of every revision older than revision;
	// reads and watches at those revisions then fail with Expired. Values
	// current at revision remain readable. Compacting to a revision at or
	// below an earlier compaction is a no-op; a revision in the future
	// fails with BadRequest.
	Compact(ctx context.Context, revision int64) error

	// CurrentRevision returns the revision of the latest write (or the
	// store's initial revision if nothing was written).
	CurrentRevision(ctx context.Context) (int64, error)

	// Close releases the store's resources. Calls after Close fail.
	Close() error
}

// KeyValue is one key as stored.
type KeyValue struct {
	Key   string
	Value []byte
	// CreateRevision is the revision of the Create that made the key.
	CreateRevision int64
	// ModRevision is the revision of the last write to the key (for a
	// deleted key in a watch event or Delete result: of the delete).
	ModRevision int64
}

// ListOptions select a page of a List.
type ListOptions struct {
	// Revision to read at; 0 reads the latest.
	Revision int64
	// Limit is the maximum number of items; 0 means no limit.
	Limit int64
	// Continue is the token of the previous page, or empty for the first.
	Continue string
}

// ListResult is one page of a List.
type ListResult struct {
	Items []KeyValue
	// Revision the list was read at (the same on every page).
	Revision int64
	// Continue is the token for the next page, empty on the last page.
	Continue string
	// RemainingItemCount is the number of items after this page, when the
	// backend knows it; nil otherwise.
	RemainingItemCount *int64
}

// EventType says what a watch event did to its key.
type EventType string

// The kinds of watch events.
const (
	// EventCreated: the key did not exist before this revision.
	EventCreated EventType = "CREATED"
	// EventUpdated: the key existed and got a new value.
	EventUpdated EventType = "UPDATED"
	// EventDeleted: the key was deleted; KV holds its last value.
	EventDeleted EventType = "DELETED"
	// EventProgress: no key changed; KV.ModRevision is a revision up to which every change
	// under the watch's prefix has been delivered. Only a ProgressWatcher whose
	// RequestProgress was called delivers it.
	EventProgress EventType = "PROGRESS"
)

// Event is one change seen by a Watch.
type Event struct {
	Type EventType
	// KV is the key after the change. For EventDeleted, Value is the value
	// it held before deletion and ModRevision is the revision of the delete.
	KV KeyValue
	// PrevValue is the value before the change (nil for EventCreated).
	PrevValue []byte
}

// Watcher is a running watch.
type Watcher interface {
	// Events delivers the changes in revision order. It is closed when the
	// watch ends; Err then tells why.
	Events() <-chan Event
	// Err returns nil after Stop or cancellation, or the error that ended
	// the watch (an Expired error when the history it needed was
	// compacted). Only meaningful once Events is closed.
	Err() error
	// Stop ends the watch and releases its resources; Events is closed
	// soon after. Stop is idempotent.
	Stop()
}

// ProgressWatcher is a Watcher that can say how far it has read, as etcd's progress
// notifications do. A store whose watchers implement it lets the API server serve consistent
// lists from its watch cache: the cache asks its watch for progress and serves a list once it
// has applied every change up to the store's current revision. Stores whose watchers do not
// implement it are still served correctly, with consistent lists read from the store.
type ProgressWatcher interface {
	Watcher
	// RequestProgress asks the watch to deliver, soon and after every change it has delivered
	// so far, an EventProgress whose KV.ModRevision is a revision R such that every change
	// under its prefix up to R has been delivered before it; R is at least the store's
	// revision at the time of the call. Several requests may be answered by one event.
	RequestProgress(ctx context.Context) error
}

// storeResource names the store in errors: they are about keys, not API
// resources, and the API server rewrites them with the real resource.
func storeResource() schema.GroupResource {
	return schema.GroupResource{Group: "store.clusterkit.io", Resource: "keys"}
}

// NewKeyNotFound is the NotFound error for a missing key.
func NewKeyNotFound(key string) error {
	return apierrors.NewNotFound(storeResource(), key)
}

// NewKeyExists is the AlreadyExists error for Create of an existing key.
func NewKeyExists(key string) error {
	return apierrors.NewAlreadyExists(storeResource(), key)
}

// NewRevisionConflict is the Conflict error for a failed precondition.
func NewRevisionConflict(key string, expected, actual int64) error {
	return apierrors.NewConflict(storeResource(), key,
		fmt.Errorf("expected revision %d, key is at revision %d", expected, actual))
}

// NewExpired is the Expired (HTTP 410) error for a read or watch at a
// revision older than the compacted revision.
func NewExpired(requested, compacted int64) error {
	return apierrors.NewResourceExpired(fmt.Sprintf(
		"revision %d has been compacted (oldest available is %d)", requested, compacted))
}

// NewExpiredContinue is the Expired (HTTP 410) error of a List whose continue token's revision
// was compacted. It carries, in its Status's metadata.continue, a token that resumes the same
// list after the same key at the latest revision (an inconsistent continuation, as
// kube-apiserver offers): objects changed since the first page may show up.
func NewExpiredContinue(requested, compacted int64, inconsistent string) error {
	err := apierrors.NewResourceExpired(fmt.Sprintf("revision %d has been compacted (oldest available is %d). "+
		"The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, "+
		"or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an "+
		"inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
		requested, compacted))
	err.ErrStatus.ListMeta.Continue = inconsistent
	return err
}

// NewBadRequest is the BadRequest error for malformed arguments (a bad
// continue token, a compaction in the future).
func NewBadRequest(format string, args ...any) error {
	return apierrors.NewBadRequest(fmt.Sprintf(format, args...))
}

// IsExpired reports whether err says a revision was compacted.
func IsExpired(err error) bool {
	return apierrors.IsResourceExpired(err) || apierrors.IsGone(err)
}
