// Package etcdstore is the etcd implementation of interfaces.Store.
//
// A Store works on any etcd v3 cluster through a clientv3.Client: New wraps
// a client the caller owns, Open either dials external endpoints or starts an
// embedded single-member etcd (StartEmbedded) on a data directory and owns
// it. Keys live under an optional prefix so several stores can share one
// etcd. Revisions are etcd's own, so a Store's revisions, compactions and
// watches behave exactly as etcd's do.
//
// Snapshots use etcd's own API and file format (Snapshot, SaveSnapshot,
// RestoreSnapshot, SnapshotStatus): a snapshot saved here can be restored
// with etcdutl, and one taken with etcdctl can be restored here.
package etcdstore
