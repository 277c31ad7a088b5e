package apiserver

import "github.com/clusterkit/clusterkit/reference/apiserver/metrics"

// Metrics returns the server's metrics (served at /metrics to those allowed "get" on it: the
// system:monitoring group): callers may register collectors of their own in its Registry.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }
