package apiserver

import (
	"time"

	"github.com/clusterkit/clusterkit/interfaces"
)

// DefaultCompactionInterval is kube-apiserver's --etcd-compaction-interval default.
const DefaultCompactionInterval = 5 * time.Minute

// startCompaction compacts the store every interval, as kube-apiserver's compactor does: each
// tick compacts to the revision the previous tick saw, so at least one interval of history
// stays readable (watches and chunked lists from older revisions then get 410 Gone, and a
// continued list its inconsistent continuation).
func (s *Server) startCompaction(interval time.Duration) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-s.bg.Done():
				return
			case <-t.C:
			}
			// The current revision: a one-item list of any prefix reports it.
			cur, err := s.cfg.Store.List(s.bg, "/registry/namespaces/", interfaces.ListOptions{Limit: 1})
			if err != nil {
				if s.bg.Err() == nil {
					s.cfg.ErrorLog("apiserver: compaction: reading the current revision: %v", err)
				}
				continue
			}
			if last > 0 {
				if err := s.cfg.Store.Compact(s.bg, last); err != nil && s.bg.Err() == nil {
					s.cfg.ErrorLog("apiserver: compacting the store to revision %d: %v", last, err)
				}
			}
			last = cur.Revision
		}
	}()
}
