package aggregation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/transport"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	apiregistrationv1helper "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
)

// discoveryTTL is how long an extension server's discovery document is reused.
const discoveryTTL = 10 * time.Second

// Groups returns the legacy discovery groups of the service-backed APIServices (GET /apis), as
// kube-aggregator lists them: every such APIService, versions by priority.
func (a *Aggregator) Groups() []metav1.APIGroup {
	var out []metav1.APIGroup
	for _, group := range a.remoteByGroup() {
		out = append(out, apiGroup(group))
	}
	return out
}

// Group returns the legacy discovery group of name (GET /apis/NAME) when service-backed
// APIServices serve it, else nil.
func (a *Aggregator) Group(name string) *metav1.APIGroup {
	for _, group := range a.remoteByGroup() {
		if group[0].Spec.Group == name {
			g := apiGroup(group)
			return &g
		}
	}
	return nil
}

// remoteByGroup returns the service-backed APIServices grouped and sorted as upstream.
func (a *Aggregator) remoteByGroup() [][]*apiregistrationv1.APIService {
	l := a.lister()
	if l == nil {
		return nil
	}
	all, err := l.List(labels.Everything())
	if err != nil {
		return nil
	}
	var remote []*apiregistrationv1.APIService
	for _, s := range all {
		if s.Spec.Service != nil && s.Spec.Group != "" {
			remote = append(remote, s)
		}
	}
	if len(remote) == 0 {
		return nil
	}
	return apiregistrationv1helper.SortedByGroupAndVersion(remote)
}

func apiGroup(svcs []*apiregistrationv1.APIService) metav1.APIGroup {
	g := metav1.APIGroup{Name: svcs[0].Spec.Group}
	for _, s := range svcs {
		g.Versions = append(g.Versions, metav1.GroupVersionForDiscovery{GroupVersion: s.Spec.Group + "/" + s.Spec.Version, Version: s.Spec.Version})
	}
	g.PreferredVersion = g.Versions[0]
	return g
}

// Discovery returns the aggregated discovery (apidiscovery.k8s.io/v2) of the Available
// service-backed APIServices: each extension server's own aggregated document for its
// group-version, else its legacy resource list converted. A server that cannot be reached is
// left out.
func (a *Aggregator) Discovery(ctx context.Context) []apidiscoveryv2.APIGroupDiscovery {
	var out []apidiscoveryv2.APIGroupDiscovery
	for _, group := range a.remoteByGroup() {
		var versions []apidiscoveryv2.APIVersionDiscovery
		var mu sync.Mutex
		var wg sync.WaitGroup
		found := map[string]apidiscoveryv2.APIVersionDiscovery{}
		for _, s := range group {
			if !apiregistrationv1helper.IsAPIServiceConditionTrue(s, apiregistrationv1.Available) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if v, ok := a.versionDiscovery(ctx, s); ok {
					mu.Lock()
					found[s.Name] = v
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, s := range group {
			if v, ok := found[s.Name]; ok {
				versions = append(versions, v)
			}
		}
		if len(versions) > 0 {
			out = append(out, apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: group[0].Spec.Group}, Versions: versions})
		}
	}
	return out
}

type discoveryEntry struct {
	resourceVersion string
	fetched         time.Time
	version         apidiscoveryv2.APIVersionDiscovery
	ok              bool
}

type discoveryCache struct {
	mu      sync.Mutex
	entries map[string]discoveryEntry
}

// versionDiscovery returns svc's group-version as its extension server discovers it.
func (a *Aggregator) versionDiscovery(ctx context.Context, svc *apiregistrationv1.APIService) (apidiscoveryv2.APIVersionDiscovery, bool) {
	a.discovery.mu.Lock()
	e, hit := a.discovery.entries[svc.Name]
	a.discovery.mu.Unlock()
	if hit && e.resourceVersion == svc.ResourceVersion && time.Since(e.fetched) < discoveryTTL {
		return e.version, e.ok
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	v, err := a.fetchDiscovery(ctx, svc)
	if err != nil {
		a.opts.ErrorLog("aggregation: discovery of APIService %s: %v", svc.Name, err)
	}
	e = discoveryEntry{resourceVersion: svc.ResourceVersion, fetched: time.Now(), version: v, ok: err == nil}
	a.discovery.mu.Lock()
	a.discovery.entries[svc.Name] = e
	a.discovery.mu.Unlock()
	return e.version, e.ok
}

const aggregatedAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"

func (a *Aggregator) fetchDiscovery(ctx context.Context, svc *apiregistrationv1.APIService) (apidiscoveryv2.APIVersionDiscovery, error) {
	body, ctype, err := a.get(ctx, svc, "/apis", aggregatedAccept)
	if err != nil {
		return apidiscoveryv2.APIVersionDiscovery{}, err
	}
	if _, params, err := mime.ParseMediaType(ctype); err == nil && params["g"] == "apidiscovery.k8s.io" {
		var list apidiscoveryv2.APIGroupDiscoveryList
		if err := json.Unmarshal(body, &list); err != nil {
			return apidiscoveryv2.APIVersionDiscovery{}, err
		}
		for _, g := range list.Items {
			if g.Name != svc.Spec.Group {
				continue
			}
			for _, v := range g.Versions {
				if v.Version == svc.Spec.Version {
					v.Freshness = apidiscoveryv2.DiscoveryFreshnessCurrent
					return v, nil
				}
			}
		}
		return apidiscoveryv2.APIVersionDiscovery{}, fmt.Errorf("its aggregated discovery has no %s/%s", svc.Spec.Group, svc.Spec.Version)
	}
	body, _, err = a.get(ctx, svc, "/apis/"+svc.Spec.Group+"/"+svc.Spec.Version, "application/json")
	if err != nil {
		return apidiscoveryv2.APIVersionDiscovery{}, err
	}
	var rl metav1.APIResourceList
	if err := json.Unmarshal(body, &rl); err != nil {
		return apidiscoveryv2.APIVersionDiscovery{}, err
	}
	return versionFromResourceList(svc.Spec.Group, svc.Spec.Version, rl.APIResources), nil
}

// get fetches path from svc's extension server as the aggregator (system:kube-aggregator in
// system:masters, as kube-aggregator's discovery manager).
func (a *Aggregator) get(ctx context.Context, svc *apiregistrationv1.APIService, path, accept string) ([]byte, string, error) {
	ref := svc.Spec.Service
	port := int32(443)
	if ref.Port != nil {
		port = *ref.Port
	}
	endpoint, err := a.resolver.ResolveEndpoint(ref.Namespace, ref.Name, port)
	if err != nil {
		return nil, "", err
	}
	rt, err := a.transport(svc)
	if err != nil {
		return nil, "", err
	}
	rt = transport.NewAuthProxyRoundTripper(AggregatorUser, "", []string{user.SystemPrivilegedGroup}, nil, rt)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+endpoint.Host+path, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", accept)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// versionFromResourceList converts a legacy resource list (subresources as "name/sub") into
// an aggregated discovery version.
func versionFromResourceList(group, version string, list []metav1.APIResource) apidiscoveryv2.APIVersionDiscovery {
	v := apidiscoveryv2.APIVersionDiscovery{Version: version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
	index := map[string]int{}
	for _, r := range list {
		if strings.Contains(r.Name, "/") {
			continue
		}
		scope := apidiscoveryv2.ScopeCluster
		if r.Namespaced {
			scope = apidiscoveryv2.ScopeNamespace
		}
		index[r.Name] = len(v.Resources)
		v.Resources = append(v.Resources, apidiscoveryv2.APIResourceDiscovery{
			Resource: r.Name, Scope: scope, SingularResource: r.SingularName, Verbs: r.Verbs,
			ShortNames: r.ShortNames, Categories: r.Categories,
			ResponseKind: &metav1.GroupVersionKind{Group: group, Version: version, Kind: r.Kind},
		})
	}
	for _, r := range list {
		parent, sub, ok := strings.Cut(r.Name, "/")
		if !ok {
			continue
		}
		i, ok := index[parent]
		if !ok {
			continue
		}
		v.Resources[i].Subresources = append(v.Resources[i].Subresources, apidiscoveryv2.APISubresourceDiscovery{
			Subresource: sub, Verbs: r.Verbs, ResponseKind: &metav1.GroupVersionKind{Group: group, Version: version, Kind: r.Kind},
		})
	}
	sort.Slice(v.Resources, func(i, j int) bool { return v.Resources[i].Resource < v.Resources[j].Resource })
	return v
}
