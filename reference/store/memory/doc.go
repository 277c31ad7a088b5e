// Package memory is an in-memory interfaces.Store with full revision
// history (MVCC), watch replay and compaction. It loses everything on Close;
// use it for fast tests and as the smallest example of the store contract.
package memory
