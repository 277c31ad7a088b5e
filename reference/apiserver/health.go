package apiserver

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// healthCheckTimeout bounds one check of the store.
const healthCheckTimeout = 5 * time.Second

// healthCheck is one named check of /healthz, /livez or /readyz, as kube-apiserver's
// healthz.HealthChecker: nil from check is healthy.
type healthCheck struct {
	name  string
	check func(ctx context.Context) error
}

// healthChecks are the checks of endpoint ("healthz", "livez" or "readyz"), in kube-apiserver's
// order: ping, log, etcd, the readiness-only checks, then the post-start hooks (each of which
// has run once Bootstrap returned, which every request waits for).
func (s *Server) healthChecks(endpoint string) []healthCheck {
	ok := func(context.Context) error { return nil }
	etcd := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, healthCheckTimeout)
		defer cancel()
		_, err := s.cfg.Store.CurrentRevision(ctx)
		return err
	}
	checks := []healthCheck{{"ping", ok}, {"log", ok}, {"etcd", etcd}}
	if endpoint == "readyz" {
		checks = append(checks,
			healthCheck{"etcd-readiness", etcd},
			healthCheck{"informer-sync", func(context.Context) error {
				if synced := s.cfg.Access.Synced; synced != nil && !synced() {
					return errors.New("the authorizer's informers have not synced")
				}
				return nil
			}},
			// shutdown fails once the server drains, so load balancers stop sending to it.
			healthCheck{"shutdown", func(context.Context) error {
				if s.bg.Err() != nil {
					return errors.New("process is shutting down")
				}
				return nil
			}})
	}
	booted := func(context.Context) error {
		s.bootMu.Lock()
		defer s.bootMu.Unlock()
		if !s.booted {
			return errors.New("not finished")
		}
		return nil
	}
	for _, hook := range []string{"start-apiserver-admission-initializer", "generic-apiserver-start-informers",
		"start-system-namespaces-controller", "bootstrap-controller", "crd-informer-synced",
		"start-service-ip-repair-controllers", "rbac/bootstrap-roles"} {
		checks = append(checks, healthCheck{"poststarthook/" + hook, booted})
	}
	return checks
}

// serveHealth answers /healthz, /livez and /readyz as kube-apiserver does: "ok" when every
// check passes; with ?verbose one "[+]NAME ok" line per check and "ENDPOINT check passed";
// ?exclude=NAME (repeatable) skips a check; a failing check answers 500 with the whole list,
// "[-]NAME failed: reason withheld" for it, and "ENDPOINT check failed". Each check is also
// served alone at /ENDPOINT/NAME ("ok", or 500 "internal server error: REASON"). ready is
// whether the path is /readyz's.
func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request, ready bool) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	endpoint, name, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if ready {
		endpoint = "readyz"
	}
	checks := s.healthChecks(endpoint)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if name != "" {
		for _, c := range checks {
			if c.name != name {
				continue
			}
			if err := c.check(r.Context()); err != nil {
				s.cfg.ErrorLog("apiserver: %s check %s failed: %v", endpoint, name, err)
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = fmt.Fprintf(w, "internal server error: %v\n", err)
				return
			}
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("ok"))
			return
		}
		writeError(w, notFoundPath())
		return
	}
	q := r.URL.Query()
	excluded := map[string]bool{}
	for _, v := range q["exclude"] {
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				excluded[n] = true
			}
		}
	}
	var out strings.Builder
	failed := false
	for _, c := range checks {
		if excluded[c.name] {
			delete(excluded, c.name)
			fmt.Fprintf(&out, "[+]%s excluded: ok\n", c.name)
			continue
		}
		if err := c.check(r.Context()); err != nil {
			s.cfg.ErrorLog("apiserver: %s check %s failed: %v", endpoint, c.name, err)
			failed = true
			fmt.Fprintf(&out, "[-]%s failed: reason withheld\n", c.name)
			continue
		}
		fmt.Fprintf(&out, "[+]%s ok\n", c.name)
	}
	if len(excluded) > 0 {
		var names []string
		for _, n := range slices.Sorted(maps.Keys(excluded)) {
			names = append(names, fmt.Sprintf("%q", n))
		}
		fmt.Fprintf(&out, "warn: some health checks cannot be excluded: no matches for %s\n", strings.Join(names, ","))
	}
	if failed {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, "%s%s check failed\n", out.String(), endpoint)
		return
	}
	w.WriteHeader(http.StatusOK)
	if q.Has("verbose") {
		_, _ = fmt.Fprintf(w, "%s%s check passed\n", out.String(), endpoint)
		return
	}
	_, _ = w.Write([]byte("ok"))
}
