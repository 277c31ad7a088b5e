package knownbad

import (
	"context"
	"strconv"
	"strings"

	"github.com/clusterkit/clusterkit/interfaces"
)

// StoreIgnoringRevision is a store whose Update and Delete ignore the
// expected revision: compare-and-swap silently becomes last-writer-wins.
type StoreIgnoringRevision struct{ interfaces.Store }

// Update implements interfaces.Store, wrongly.
func (s StoreIgnoringRevision) Update(ctx context.Context, key string, value []byte, _ int64) (int64, error) {
	return s.Store.Update(ctx, key, value, 0)
}

// Delete implements interfaces.Store, wrongly.
func (s StoreIgnoringRevision) Delete(ctx context.Context, key string, _ int64) (interfaces.KeyValue, error) {
	return s.Store.Delete(ctx, key, 0)
}

// StoreDroppingWatchEvents is a store whose watches lose every Nth event
// (as a watch that does not resume correctly after a reconnect would).
type StoreDroppingWatchEvents struct {
	interfaces.Store
	// Every is N; 0 means 5.
	Every int
}

// Watch implements interfaces.Store, wrongly.
func (s StoreDroppingWatchEvents) Watch(ctx context.Context, prefix string, from int64) (interfaces.Watcher, error) {
	w, err := s.Store.Watch(ctx, prefix, from)
	if err != nil {
		return nil, err
	}
	every := s.Every
	if every == 0 {
		every = 5
	}
	n := 0
	return relay(w, func(ev interfaces.Event, out chan<- interfaces.Event) {
		n++
		if n%every != 0 {
			out <- ev
		}
	}), nil
}

// StoreReorderingWatchEvents is a store whose watches deliver events in
// pairs swapped (as a watch fanned out through unordered goroutines would).
type StoreReorderingWatchEvents struct{ interfaces.Store }

// Watch implements interfaces.Store, wrongly.
func (s StoreReorderingWatchEvents) Watch(ctx context.Context, prefix string, from int64) (interfaces.Watcher, error) {
	w, err := s.Store.Watch(ctx, prefix, from)
	if err != nil {
		return nil, err
	}
	var held *interfaces.Event
	return relay(w, func(ev interfaces.Event, out chan<- interfaces.Event) {
		if held == nil {
			held = &ev
			return
		}
		out <- ev
		out <- *held
		held = nil
	}), nil
}

// StoreListingAcrossRevisions is a store whose List ignores the requested
// revision and reads every page at the latest one, so a paginated list mixes
// states and a list "at revision R" shows later writes. It still reports the
// revision it was asked for, as a careless implementation would.
type StoreListingAcrossRevisions struct{ interfaces.Store }

// List implements interfaces.Store, wrongly.
func (s StoreListingAcrossRevisions) List(ctx context.Context, prefix string, opts interfaces.ListOptions) (interfaces.ListResult, error) {
	rev, after := opts.Revision, ""
	if opts.Continue != "" {
		var ok bool
		if rev, after, ok = decodeToken(opts.Continue); !ok {
			return interfaces.ListResult{}, interfaces.NewBadRequest("invalid continue token")
		}
	}
	latest, err := s.Store.List(ctx, prefix, interfaces.ListOptions{})
	if err != nil {
		return latest, err
	}
	if rev == 0 {
		rev = latest.Revision
	}
	res := interfaces.ListResult{Revision: rev}
	for _, kv := range latest.Items {
		if kv.Key <= after {
			continue
		}
		if opts.Limit > 0 && int64(len(res.Items)) == opts.Limit {
			res.Continue = encodeToken(rev, res.Items[len(res.Items)-1].Key)
			break
		}
		res.Items = append(res.Items, kv)
	}
	return res, nil
}

func encodeToken(rev int64, after string) string {
	return strconv.FormatInt(rev, 10) + ":" + after
}

func decodeToken(tok string) (int64, string, bool) {
	revText, after, found := strings.Cut(tok, ":")
	rev, err := strconv.ParseInt(revText, 10, 64)
	return rev, after, found && err == nil
}
