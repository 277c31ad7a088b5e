// Package tables renders served objects as server-side meta.k8s.io/v1 Table
// responses, the format stock kubectl asks for on `kubectl get`.
//
// For every kind the reference API server serves it holds the column set
// kubectl users know from a real cluster (NAME, READY, STATUS, RESTARTS, AGE
// for pods, and so on), including the `-o wide` columns, which carry
// priority 1. Cells are computed from the typed k8s.io/api objects; the
// current time is always passed in so AGE and similar cells are
// deterministic in tests.
//
// Each row embeds the object's metadata as a PartialObjectMetadata (kubectl
// needs it to fill the NAMESPACE column of `get -A`), or, on request, the
// whole object or nothing, mirroring the includeObject query parameter.
// Kinds without a dedicated column set get NAME and AGE.
package tables
