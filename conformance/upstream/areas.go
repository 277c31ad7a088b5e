package upstream

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Area is a named slice of the conformance specs, chosen by the spec text.
type Area struct {
	// Name is the shorthand given to --area.
	Name string
	// Description says what the area holds, for --help.
	Description string
	// Match selects the area's specs by their full text.
	Match *regexp.Regexp
}

// SeedAreas are the areas of the seed's components, in table order: the
// scheduler, the Deployment, ReplicaSet, DaemonSet and Job controllers, the kubelet's pod
// lifecycle, Services and their endpoints, and the API server.
func SeedAreas() []Area {
	return []Area{
		{Name: "scheduling", Description: "sig-scheduling: predicates, preemption, limit ranges of scheduling",
			Match: regexp.MustCompile(`^\[sig-scheduling\] `)},
		{Name: "apps", Description: "sig-apps Deployment, ReplicaSet, DaemonSet and Job",
			Match: regexp.MustCompile(`^\[sig-apps\] (Deployment|ReplicaSet|Daemon set|Job) `)},
		{Name: "node", Description: "sig-node Pods, Probing container, InitContainer, Container Lifecycle Hook, Container Runtime",
			Match: regexp.MustCompile(`^\[sig-node\] (Pods|Probing container|InitContainer( \[NodeConformance\])?|Container Lifecycle Hook|Container Runtime) `)},
		{Name: "network", Description: "sig-network Services, Endpoints, EndpointsController, EndpointSlice, EndpointSliceMirroring, the API server's own endpoints",
			Match: regexp.MustCompile(`^\[sig-network\] (Services|EndpointSlice|EndpointSliceMirroring|Endpoints|EndpointsController|API Server should have Endpoints) `)},
		{Name: "api-machinery", Description: "sig-api-machinery: every API machinery conformance spec",
			Match: regexp.MustCompile(`^\[sig-api-machinery\] `)},
	}
}

// ResolveAreas turns --area values into areas: the seed areas by name,
// "seed" for all of them, "all" for every conformance spec, and any other
// name X for the specs of [sig-X] (storage, auth, cli, ...).
func ResolveAreas(names []string) ([]Area, error) {
	seed := SeedAreas()
	byName := map[string]Area{}
	for _, a := range seed {
		byName[a.Name] = a
	}
	var out []Area
	seen := map[string]bool{}
	add := func(a Area) {
		if !seen[a.Name] {
			seen[a.Name] = true
			out = append(out, a)
		}
	}
	for _, n := range names {
		n = strings.TrimSpace(strings.ToLower(n))
		switch {
		case n == "":
		case n == "seed":
			for _, a := range seed {
				add(a)
			}
		case n == "all":
			add(Area{Name: "all", Description: "every conformance spec", Match: regexp.MustCompile(`.`)})
		case byName[n].Name != "":
			add(byName[n])
		default:
			sig := strings.TrimPrefix(n, "sig-")
			if !regexp.MustCompile(`^[a-z][a-z0-9-]*$`).MatchString(sig) {
				return nil, fmt.Errorf("unknown area %q: use %s, seed, all, or a SIG name such as storage", n, strings.Join(AreaNames(), ", "))
			}
			add(Area{Name: sig, Description: "[sig-" + sig + "]", Match: regexp.MustCompile(`^\[sig-` + regexp.QuoteMeta(sig) + `\] `)})
		}
	}
	return out, nil
}

// AreaNames lists the seed areas' names.
func AreaNames() []string {
	var names []string
	for _, a := range SeedAreas() {
		names = append(names, a.Name)
	}
	return names
}

// areaOf returns the name of the first area matching text; specs outside
// every area are grouped by their SIG ("sig-storage"), or "other".
func areaOf(areas []Area, text string) string {
	for _, a := range areas {
		if a.Match.MatchString(text) {
			return a.Name
		}
	}
	if m := sigRE.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	return "other"
}

var sigRE = regexp.MustCompile(`^\[(sig-[a-z0-9-]+)\]`)

// Spec is one selected upstream spec.
type Spec struct {
	// Text is the spec's full text ("[sig-node] Pods should ... [Conformance]").
	Text string `json:"text"`
	// Area is the area it is counted in.
	Area string `json:"area"`
	// Serial specs must run alone ([Serial] in the text or the Serial label).
	Serial bool `json:"serial,omitempty"`
}

// Select picks, from the full texts of the suite's conformance specs, those
// in areas (every one when areas is empty), matching one of focus (when
// given) and none of skip.
func Select(texts []string, serial map[string]bool, areas []Area, focus, skip []string) ([]Spec, error) {
	compile := func(exprs []string) ([]*regexp.Regexp, error) {
		var out []*regexp.Regexp
		for _, e := range exprs {
			re, err := regexp.Compile(e)
			if err != nil {
				return nil, fmt.Errorf("bad regular expression %q: %w", e, err)
			}
			out = append(out, re)
		}
		return out, nil
	}
	focusRE, err := compile(focus)
	if err != nil {
		return nil, err
	}
	skipRE, err := compile(skip)
	if err != nil {
		return nil, err
	}
	any := func(res []*regexp.Regexp, s string) bool {
		for _, re := range res {
			if re.MatchString(s) {
				return true
			}
		}
		return false
	}
	var out []Spec
	for _, t := range texts {
		if len(areas) > 0 {
			in := false
			for _, a := range areas {
				in = in || a.Match.MatchString(t)
			}
			if !in {
				continue
			}
		}
		if len(focusRE) > 0 && !any(focusRE, t) {
			continue
		}
		if any(skipRE, t) {
			continue
		}
		out = append(out, Spec{Text: t, Area: areaOf(areas, t), Serial: serial[t] || strings.Contains(t, "[Serial]")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Text < out[j].Text })
	return out, nil
}
