package conformance

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilversion "k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/rest"
)

const (
	srcVersionSkew = "Kubernetes version skew policy (kubernetes.io/releases/version-skew-policy); the /version endpoint (k8s.io/apimachinery/pkg/version.Info)"
	srcMetrics     = "Kubernetes metrics for system components: kube-apiserver /metrics in the Prometheus format, apiserver_request_total (kubernetes.io/docs/concepts/cluster-administration/system-metrics, kubernetes.io/docs/reference/instrumentation/metrics)"
	srcHealth      = "Kubernetes API health endpoints: /livez, /readyz, verbose, individual checks and exclude (kubernetes.io/docs/reference/using-api/health-checks)"
)

// apiObservabilitySpecs are the version and health endpoints of the API server.
func apiObservabilitySpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.version.semver", "/version MUST answer a gitVersion that parses as a semantic version vMAJOR.MINOR.PATCH, with its major and minor fields equal to that MAJOR and MINOR", srcVersionSkew), specVersionSemver},
		{api("api.metrics.requests", "/metrics MUST answer the Prometheus text exposition format, which parses, and its apiserver_request_total counter for verb POST, resource configmaps, code 201 MUST count a ConfigMap create the spec made", srcMetrics), specMetricsCountRequests},
		{api("api.health.verbose", "/livez?verbose and /readyz?verbose MUST list one \"[+]NAME ok\" line per check, ping and etcd among them, and end with \"livez check passed\" / \"readyz check passed\"; each listed check MUST answer ok at /livez/NAME or /readyz/NAME, and ?exclude=NAME MUST list it as \"[+]NAME excluded: ok\"", srcHealth), specHealthVerbose},
	}
}

func specVersionSemver(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	info, err := e.client.Discovery().ServerVersion()
	ok(g, err, "reading /version")
	v, err := utilversion.ParseSemantic(info.GitVersion)
	g.Expect(err).NotTo(gomega.HaveOccurred(), "gitVersion %q is not a semantic version", info.GitVersion)
	g.Expect(strings.HasPrefix(info.GitVersion, "v")).To(gomega.BeTrue(), "gitVersion %q must start with v", info.GitVersion)
	g.Expect(info.Major).To(gomega.Equal(fmt.Sprint(v.Major())), "major of gitVersion %q", info.GitVersion)
	// A minor may carry a "+" on builds off a release branch (kube's "37+").
	g.Expect(strings.TrimSuffix(info.Minor, "+")).To(gomega.Equal(fmt.Sprint(v.Minor())), "minor of gitVersion %q", info.GitVersion)
}

func specHealthVerbose(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	rc := e.client.Discovery().RESTClient()
	for _, ep := range []string{"livez", "readyz"} {
		body, err := rc.Get().AbsPath("/"+ep).Param("verbose", "").DoRaw(ctx)
		ok(g, err, "GET /"+ep+"?verbose")
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		g.Expect(lines[len(lines)-1]).To(gomega.Equal(ep+" check passed"), "last line of /%s?verbose:\n%s", ep, body)
		var names []string
		for _, line := range lines[:len(lines)-1] {
			name, found := strings.CutPrefix(line, "[+]")
			g.Expect(found && strings.HasSuffix(name, " ok")).To(gomega.BeTrue(), "line %q of /%s?verbose is not \"[+]NAME ok\"", line, ep)
			names = append(names, strings.TrimSuffix(name, " ok"))
		}
		g.Expect(names).To(gomega.ContainElements("ping", "etcd"), "checks of /%s", ep)
		for _, name := range names {
			one, err := rc.Get().AbsPath("/" + ep + "/" + name).DoRaw(ctx)
			ok(g, err, "GET /"+ep+"/"+name)
			g.Expect(strings.TrimSpace(string(one))).To(gomega.Equal("ok"), "/%s/%s", ep, name)
		}
		body, err = rc.Get().AbsPath("/"+ep).Param("verbose", "").Param("exclude", "ping").DoRaw(ctx)
		ok(g, err, "GET /"+ep+"?verbose&exclude=ping")
		g.Expect(string(body)).To(gomega.ContainSubstring("[+]ping excluded: ok\n"), "/%s?verbose&exclude=ping", ep)
	}
}

func specMetricsCountRequests(ctx context.Context, g gomega.Gomega, e *apiEnv) {
	rc, isREST := e.client.Discovery().RESTClient().(*rest.RESTClient)
	g.Expect(isREST).To(gomega.BeTrue(), "the client must be a REST client")
	creates := func(g gomega.Gomega) float64 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rc.Get().AbsPath("/metrics").URL().String(), nil)
		ok(g, err, "building GET /metrics")
		req.Header.Set("Accept", "text/plain")
		resp, err := rc.Client.Do(req)
		ok(g, err, "GET /metrics")
		defer resp.Body.Close()
		g.Expect(resp.StatusCode).To(gomega.Equal(http.StatusOK), "GET /metrics")
		g.Expect(resp.Header.Get("Content-Type")).To(gomega.HavePrefix("text/plain"), "/metrics content type")
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(resp.Body)
		ok(g, err, "parsing /metrics as the Prometheus text format")
		family, found := families["apiserver_request_total"]
		g.Expect(found).To(gomega.BeTrue(), "/metrics has no apiserver_request_total")
		g.Expect(family.GetType()).To(gomega.Equal(dto.MetricType_COUNTER), "apiserver_request_total is a counter")
		sum := 0.0
		for _, m := range family.GetMetric() {
			l := map[string]string{}
			for _, p := range m.GetLabel() {
				l[p.GetName()] = p.GetValue()
			}
			if l["verb"] == "POST" && l["resource"] == "configmaps" && l["group"] == "" && l["code"] == "201" && l["subresource"] == "" {
				sum += m.GetCounter().GetValue()
			}
		}
		return sum
	}
	before := creates(g)
	_, err := e.client.CoreV1().ConfigMaps(e.ns).Create(ctx, configMap("counted"), metav1.CreateOptions{})
	ok(g, err, "creating ConfigMap counted")
	g.Eventually(creates).WithContext(ctx).WithTimeout(30*time.Second).WithPolling(500*time.Millisecond).
		Should(gomega.BeNumerically(">=", before+1), "apiserver_request_total{verb=POST,resource=configmaps,code=201} must count the create")
}
