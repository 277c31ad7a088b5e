// Package registry holds the table of API resources clusterkit's API server serves: for each
// resource its group/version, kind and list kind, scope, short names, categories, verbs,
// subresources, the Go types that hold it and the fields it can be selected by.
//
// The one table drives routing, storage keys, discovery documents and the OpenAPI inputs, so
// adding a resource is one entry in Default.
package registry
