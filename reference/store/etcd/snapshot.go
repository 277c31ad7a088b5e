package etcdstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"
)

// Snapshot writes a snapshot of the whole etcd keyspace (not only the
// store's prefix) to w, in etcd's snapshot format: the bolt database
// followed by its SHA-256, as `etcdctl snapshot save` writes it.
func (s *Store) Snapshot(ctx context.Context, w io.Writer) error {
	if s.closed.Load() {
		return errClosed
	}
	return writeSnapshot(ctx, s.client, w)
}

func writeSnapshot(ctx context.Context, client *clientv3.Client, w io.Writer) error {
	rc, err := client.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("etcd snapshot: %w", err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("etcd snapshot: receiving: %w", err)
	}
	return nil
}

// SaveSnapshot saves a snapshot taken through client to path, atomically:
// the file appears only once complete and synced. An existing file at path
// is replaced, as etcdctl does.
func SaveSnapshot(ctx context.Context, client *clientv3.Client, path string) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".part-*")
	if err != nil {
		return fmt.Errorf("cannot create snapshot file in %q: %w — check the directory exists and is writable", dir, err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := writeSnapshot(ctx, client, tmp); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("snapshot %q: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("snapshot %q: close: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("snapshot %q: %w", path, err)
	}
	done = true
	return nil
}

// SaveSnapshotFromEndpoints saves a snapshot of the etcd at endpoints to
// path. Give one endpoint: a snapshot is one member's state.
func SaveSnapshotFromEndpoints(ctx context.Context, endpoints []string, path string) error {
	return SaveSnapshotFromEndpointsTLS(ctx, endpoints, nil, path)
}

// SaveSnapshotFromEndpointsTLS is SaveSnapshotFromEndpoints for an etcd
// that speaks TLS (tlsConfig from ClientTLS; nil is plain).
func SaveSnapshotFromEndpointsTLS(ctx context.Context, endpoints []string, tlsConfig *tls.Config, path string) error {
	if len(endpoints) == 0 {
		return errors.New("no etcd endpoints given")
	}
	client, err := clientFor(endpoints, tlsConfig)
	if err != nil {
		return fmt.Errorf("cannot use etcd endpoints %v: %w", endpoints, err)
	}
	defer client.Close()
	pctx, cancel := context.WithTimeout(ctx, DefaultDialTimeout)
	defer cancel()
	if _, err := client.Status(pctx, endpoints[0]); err != nil {
		return fmt.Errorf("cannot reach etcd at %s: %w", endpoints[0], err)
	}
	return SaveSnapshot(ctx, client, path)
}

// RestoreSnapshot restores the snapshot file at path into dataDir, which
// must not exist or be empty, so that a later Open (or StartEmbedded) on
// dataDir serves exactly the keys, values and revisions saved. The
// snapshot's integrity hash is checked. lg receives etcdutl's logs; nil
// discards them.
func RestoreSnapshot(ctx context.Context, path, dataDir string, lg *zap.Logger) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if lg == nil {
		lg = zap.NewNop()
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("cannot read snapshot %q: %w", path, err)
	}
	empty, err := dirMissingOrEmpty(dataDir)
	if err != nil {
		return fmt.Errorf("cannot restore into %q: %w", dataDir, err)
	}
	if !empty {
		return fmt.Errorf("cannot restore into %q: the directory is not empty — restore into a new or empty --data-dir (existing data is never overwritten)", dataDir)
	}
	err = snapshot.NewV3(lg).Restore(snapshot.RestoreConfig{
		SnapshotPath:        path,
		Name:                memberName,
		OutputDataDir:       dataDir,
		PeerURLs:            []string{loopbackAnyPort},
		InitialCluster:      memberName + "=" + loopbackAnyPort,
		InitialClusterToken: memberName,
	})
	if err != nil {
		return fmt.Errorf("restore snapshot %q into %q: %w", path, dataDir, err)
	}
	return nil
}

func dirMissingOrEmpty(dir string) (bool, error) {
	f, err := os.Open(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// SnapshotInfo describes a snapshot file.
type SnapshotInfo struct {
	// Hash is etcdutl's CRC-32 of the database content.
	Hash uint32
	// Revision is the latest revision in the snapshot.
	Revision int64
	// TotalKeys is the number of live keys (all prefixes).
	TotalKeys int
	// TotalSize is the database size in bytes.
	TotalSize int64
	// Version is the storage version, empty for old snapshots.
	Version string
}

// SnapshotStatus reads a snapshot file and checks its integrity.
func SnapshotStatus(path string) (SnapshotInfo, error) {
	if _, err := os.Stat(path); err != nil {
		return SnapshotInfo{}, fmt.Errorf("cannot read snapshot %q: %w", path, err)
	}
	st, err := snapshot.NewV3(zap.NewNop()).Status(path)
	if err != nil {
		return SnapshotInfo{}, fmt.Errorf("%q is not a readable etcd snapshot: %w", path, err)
	}
	return SnapshotInfo{Hash: st.Hash, Revision: st.Revision, TotalKeys: st.TotalKey, TotalSize: st.TotalSize, Version: st.Version}, nil
}
