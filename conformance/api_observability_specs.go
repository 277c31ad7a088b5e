package conformance

import (
	"context"
	"fmt"
	"strings"

	"github.com/onsi/gomega"
	utilversion "k8s.io/apimachinery/pkg/util/version"
)

const (
	srcVersionSkew = "Kubernetes version skew policy (kubernetes.io/releases/version-skew-policy); the /version endpoint (k8s.io/apimachinery/pkg/version.Info)"
	srcHealth      = "Kubernetes API health endpoints: /livez, /readyz, verbose, individual checks and exclude (kubernetes.io/docs/reference/using-api/health-checks)"
)

// apiObservabilitySpecs are the version and health endpoints of the API server.
func apiObservabilitySpecs() []spec[*apiEnv] {
	return []spec[*apiEnv]{
		{api("api.version.semver", "/version MUST answer a gitVersion that parses as a semantic version vMAJOR.MINOR.PATCH, with its major and minor fields equal to that MAJOR and MINOR", srcVersionSkew), specVersionSemver},
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
