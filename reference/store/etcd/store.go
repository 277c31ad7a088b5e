package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/clusterkit/clusterkit/interfaces"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var _ interfaces.Store = (*Store)(nil)

// errClosed is returned by every method called after Close.
var errClosed = errors.New("etcd store is closed")

// Store implements interfaces.Store on etcd.
type Store struct {
	client *clientv3.Client
	prefix string

	// owned are released by Close after the client: set by Open.
	ownsClient bool
	embedded   *Embedded

	closed atomic.Bool
}

// Option configures a Store built by New.
type Option func(*Store)

// WithPrefix stores every key under prefix (for example "/clusterkit") so
// several stores can share one etcd. Keys are given and returned without
// it. Lists and watches read the range of keys starting with the prefix,
// so the prefixes of stores sharing an etcd must not be prefixes of one
// another ("/a" and "/ab" are not separate; "/a/" and "/ab/" are).
func WithPrefix(prefix string) Option {
	return func(s *Store) { s.prefix = prefix }
}

// New returns a Store on an existing client. It does not dial and does not
// take ownership: Close leaves the client open for its owner to close.
func New(client *clientv3.Client, opts ...Option) *Store {
	s := &Store{client: client}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Client returns the etcd client the store uses.
func (s *Store) Client() *clientv3.Client { return s.client }

// Prefix returns the prefix the store keeps its keys under.
func (s *Store) Prefix() string { return s.prefix }

// Embedded returns the embedded etcd the store owns, or nil when it uses
// external endpoints or a client given to New.
func (s *Store) Embedded() *Embedded { return s.embedded }

func (s *Store) full(key string) string { return s.prefix + key }

func (s *Store) strip(key []byte) string { return strings.TrimPrefix(string(key), s.prefix) }

func (s *Store) check(key string) error {
	if s.closed.Load() {
		return errClosed
	}
	if key == "" {
		return interfaces.NewBadRequest("empty key")
	}
	return nil
}

// Create implements interfaces.Store.
func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	if err := s.check(key); err != nil {
		return 0, err
	}
	k := s.full(key)
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, string(value))).
		Commit()
	if err != nil {
		return 0, s.backendError("create", key, err)
	}
	if !resp.Succeeded {
		return 0, interfaces.NewKeyExists(key)
	}
	return resp.Header.Revision, nil
}

// Get implements interfaces.Store.
func (s *Store) Get(ctx context.Context, key string) (interfaces.KeyValue, error) {
	if err := s.check(key); err != nil {
		return interfaces.KeyValue{}, err
	}
	resp, err := s.client.Get(ctx, s.full(key))
	if err != nil {
		return interfaces.KeyValue{}, s.backendError("get", key, err)
	}
	if len(resp.Kvs) == 0 {
		return interfaces.KeyValue{}, interfaces.NewKeyNotFound(key)
	}
	return s.keyValue(resp.Kvs[0]), nil
}

// Update implements interfaces.Store.
func (s *Store) Update(ctx context.Context, key string, value []byte, expectedRevision int64) (int64, error) {
	if err := s.check(key); err != nil {
		return 0, err
	}
	k := s.full(key)
	resp, err := s.client.Txn(ctx).
		If(precondition(k, expectedRevision)).
		Then(clientv3.OpPut(k, string(value))).
		Else(clientv3.OpGet(k)).
		Commit()
	if err != nil {
		return 0, s.backendError("update", key, err)
	}
	if !resp.Succeeded {
		return 0, failedPrecondition(key, expectedRevision, resp)
	}
	return resp.Header.Revision, nil
}

// Delete implements interfaces.Store.
func (s *Store) Delete(ctx context.Context, key string, expectedRevision int64) (interfaces.KeyValue, error) {
	if err := s.check(key); err != nil {
		return interfaces.KeyValue{}, err
	}
	k := s.full(key)
	resp, err := s.client.Txn(ctx).
		If(precondition(k, expectedRevision)).
		Then(clientv3.OpDelete(k, clientv3.WithPrevKV())).
		Else(clientv3.OpGet(k)).
		Commit()
	if err != nil {
		return interfaces.KeyValue{}, s.backendError("delete", key, err)
	}
	if !resp.Succeeded {
		return interfaces.KeyValue{}, failedPrecondition(key, expectedRevision, resp)
	}
	del := resp.Responses[0].GetResponseDeleteRange()
	if del == nil || len(del.PrevKvs) == 0 {
		// The precondition held, so the key existed in this transaction.
		return interfaces.KeyValue{}, fmt.Errorf("etcd delete %q: no previous value in the response", key)
	}
	kv := s.keyValue(del.PrevKvs[0])
	kv.ModRevision = resp.Header.Revision
	return kv, nil
}

// precondition is the comparison Update and Delete run under: the key exists
// and, when expected is non-zero, was last written at revision expected.
func precondition(key string, expected int64) clientv3.Cmp {
	if expected == 0 {
		return clientv3.Compare(clientv3.CreateRevision(key), ">", 0)
	}
	return clientv3.Compare(clientv3.ModRevision(key), "=", expected)
}

// failedPrecondition tells NotFound from Conflict using the Get that ran in
// the transaction's else branch.
func failedPrecondition(key string, expected int64, resp *clientv3.TxnResponse) error {
	var kvs []*mvccpb.KeyValue
	if len(resp.Responses) > 0 {
		if r := resp.Responses[0].GetResponseRange(); r != nil {
			kvs = r.Kvs
		}
	}
	if len(kvs) == 0 {
		return interfaces.NewKeyNotFound(key)
	}
	return interfaces.NewRevisionConflict(key, expected, kvs[0].ModRevision)
}

// List implements interfaces.Store.
func (s *Store) List(ctx context.Context, prefix string, opts interfaces.ListOptions) (interfaces.ListResult, error) {
	if s.closed.Load() {
		return interfaces.ListResult{}, errClosed
	}
	if opts.Limit < 0 {
		return interfaces.ListResult{}, interfaces.NewBadRequest("negative limit %d", opts.Limit)
	}
	if opts.Revision < 0 {
		return interfaces.ListResult{}, interfaces.NewBadRequest("negative revision %d", opts.Revision)
	}
	rev, start := opts.Revision, prefix
	if opts.Continue != "" {
		tok, err := decodeContinue(opts.Continue, prefix)
		if err != nil {
			return interfaces.ListResult{}, err
		}
		if opts.Revision != 0 && opts.Revision != tok.Revision {
			return interfaces.ListResult{}, interfaces.NewBadRequest(
				"revision %d does not match the continue token's revision %d", opts.Revision, tok.Revision)
		}
		rev, start = tok.Revision, tok.Start
		if rev == latestRevision {
			rev = 0
		}
	}

	begin, end := rangeKeys(s.full(start), s.full(prefix))
	ops := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithRev(rev)}
	if opts.Limit > 0 {
		ops = append(ops, clientv3.WithLimit(opts.Limit))
	}
	resp, err := s.client.Get(ctx, begin, ops...)
	if err != nil {
		if opts.Continue != "" && errors.Is(err, rpctypes.ErrCompacted) {
			return interfaces.ListResult{}, interfaces.NewExpiredContinue(rev, s.compactedHint(rev),
				encodeContinue(continueToken{Revision: latestRevision, Start: start}))
		}
		return interfaces.ListResult{}, s.readError("list", prefix, rev, err)
	}
	if rev == 0 {
		rev = resp.Header.Revision
	}
	out := interfaces.ListResult{Revision: rev, Items: make([]interfaces.KeyValue, 0, len(resp.Kvs))}
	for _, kv := range resp.Kvs {
		out.Items = append(out.Items, s.keyValue(kv))
	}
	if opts.Limit > 0 {
		remaining := resp.Count - int64(len(resp.Kvs))
		if remaining < 0 {
			remaining = 0
		}
		out.RemainingItemCount = &remaining
		if resp.More && len(out.Items) > 0 {
			last := out.Items[len(out.Items)-1].Key
			out.Continue = encodeContinue(continueToken{Revision: rev, Start: last + "\x00"})
		}
	}
	return out, nil
}

// rangeKeys returns the etcd range [begin, end) of the keys from start that
// begin with prefix (both already carrying the store's prefix).
func rangeKeys(start, prefix string) (begin, end string) {
	end = clientv3.GetPrefixRangeEnd(prefix)
	begin = start
	if begin == "" {
		// etcd has no empty key; "\x00" is the smallest one.
		begin = "\x00"
	}
	return begin, end
}

// Compact implements interfaces.Store.
func (s *Store) Compact(ctx context.Context, revision int64) error {
	if s.closed.Load() {
		return errClosed
	}
	if revision < 0 {
		return interfaces.NewBadRequest("negative compaction revision %d", revision)
	}
	if revision == 0 {
		return nil
	}
	_, err := s.client.Compact(ctx, revision, clientv3.WithCompactPhysical())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, rpctypes.ErrCompacted):
		// At or below an earlier compaction: nothing to do.
		return nil
	case errors.Is(err, rpctypes.ErrFutureRev):
		return interfaces.NewBadRequest("cannot compact to revision %d: it is in the future", revision)
	default:
		return fmt.Errorf("etcd compact to revision %d: %w", revision, err)
	}
}

// CurrentRevision implements interfaces.Store.
func (s *Store) CurrentRevision(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, errClosed
	}
	return s.currentRevision(ctx)
}

func (s *Store) currentRevision(ctx context.Context) (int64, error) {
	// Any key works: the header carries the store's revision. A count-only
	// read of one key is the cheapest request.
	resp, err := s.client.Get(ctx, s.full("/"), clientv3.WithCountOnly())
	if err != nil {
		return 0, fmt.Errorf("etcd current revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// Close implements interfaces.Store. A Store from Open also stops its client
// and, if it started one, the embedded etcd; a Store from New leaves its
// client to the caller.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	var errs []error
	if s.ownsClient {
		if err := s.client.Close(); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("close etcd client: %w", err))
		}
	}
	if s.embedded != nil {
		if err := s.embedded.Close(); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, fmt.Errorf("close embedded etcd: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (s *Store) keyValue(kv *mvccpb.KeyValue) interfaces.KeyValue {
	value := kv.Value
	if value == nil {
		value = []byte{}
	}
	return interfaces.KeyValue{
		Key:            s.strip(kv.Key),
		Value:          value,
		CreateRevision: kv.CreateRevision,
		ModRevision:    kv.ModRevision,
	}
}

// backendError wraps a failure of a single-key request. It is never
// classified as one of the contract's error classes except for the few
// etcd errors that mean a bad argument.
func (s *Store) backendError(op, key string, err error) error {
	if s.closed.Load() {
		return errClosed
	}
	if errors.Is(err, rpctypes.ErrEmptyKey) ||
		errors.Is(err, rpctypes.ErrRequestTooLarge) {
		return interfaces.NewBadRequest("etcd %s %q: %v", op, key, err)
	}
	return fmt.Errorf("etcd %s %q: %w", op, key, err)
}

// readError maps a failure of a read at a revision.
func (s *Store) readError(op, key string, rev int64, err error) error {
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return interfaces.NewExpired(rev, s.compactedHint(rev))
	case errors.Is(err, rpctypes.ErrFutureRev):
		return interfaces.NewBadRequest("revision %d is in the future", rev)
	}
	return s.backendError(op, key, err)
}

// compactedHint is the compacted revision to report in an Expired error.
// etcd's error does not carry it; the requested revision plus one is a
// lower bound that keeps the message truthful ("oldest available is at
// least").
func (s *Store) compactedHint(rev int64) int64 { return rev + 1 }
