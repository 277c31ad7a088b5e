// Package storage keeps typed Kubernetes objects in an interfaces.Store: it builds the keys
// (/registry/<resource>/<namespace>/<name>, /registry/<resource>/<name> for cluster-scoped
// resources), stores each object as its JSON, sets metadata.resourceVersion from the key's
// ModRevision when reading, runs optimistic read-modify-write loops, pages filtered lists and
// decodes watch events, and rewrites the store's key-level errors into errors about the real
// resource (NotFound, AlreadyExists, Conflict, Expired).
package storage
