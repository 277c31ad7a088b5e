package conformance

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Capability is an optional feature an implementation may declare; specs
// that need it are skipped, with the reason printed, when it is absent.
type Capability string

// The optional capabilities specs can need.
const (
	// Durable: every acknowledged write survives closing and reopening the
	// implementation on the same data.
	Durable Capability = "Durable"
	// Snapshots: the implementation can save a snapshot and restore a new
	// instance from it.
	Snapshots Capability = "Snapshots"
	// WatchProgress: the store's watchers implement interfaces.ProgressWatcher (etcd's
	// progress notifications), which lets an API server serve consistent lists from a cache.
	WatchProgress Capability = "WatchProgress"
)

// Behavior is the metadata of one spec: what it checks and why.
type Behavior struct {
	// ID is unique and starts with the component: "store.update.compare-and-swap".
	ID string
	// Component is the Ginkgo label of the component the spec binds:
	// store, api, scheduler, controllers, kubelet, proxy, runtime.
	Component string
	// Must is the behaviour as one sentence containing MUST.
	Must string
	// Source is where the behaviour is documented: a sentence of the seed,
	// or the Kubernetes documentation or contract it follows.
	Source string
	// Labels are extra Ginkgo labels: Slow, Disruptive, NeedsRealRuntime, NeedsRoot.
	Labels []string
	// Needs lists the optional capabilities the spec cannot run without.
	Needs []Capability
}

// Title is the spec's name in reports: "[ID] MUST sentence".
func (b Behavior) Title() string { return "[" + b.ID + "] " + b.Must }

// ginkgoLabels returns the component label followed by the extra labels.
func (b Behavior) ginkgoLabels() []string {
	return append([]string{b.Component}, b.Labels...)
}

var idPattern = regexp.MustCompile(`^[a-z]+(\.[a-z0-9]+(-[a-z0-9]+)*)+$`)

// Check returns what is wrong with a behaviour's metadata, or nil.
func (b Behavior) Check() error {
	switch {
	case b.ID == "":
		return fmt.Errorf("spec %q has no behaviour ID", b.Must)
	case !idPattern.MatchString(b.ID):
		return fmt.Errorf("behaviour ID %q is not of the form component.area.name (lowercase, dashes)", b.ID)
	case !strings.HasPrefix(b.ID, b.Component+"."):
		return fmt.Errorf("behaviour ID %q does not start with its component %q", b.ID, b.Component)
	case !strings.Contains(b.Must, "MUST"):
		return fmt.Errorf("behaviour %s: the sentence %q does not state a MUST", b.ID, b.Must)
	case b.Source == "":
		return fmt.Errorf("behaviour %s has no source", b.ID)
	}
	for _, l := range b.ginkgoLabels() {
		if l == "" || strings.ContainsAny(l, "&|!,()/") {
			return fmt.Errorf("behaviour %s: %q is not a Ginkgo label (empty, or one of &|!,()/ in it)", b.ID, l)
		}
	}
	return nil
}

// Catalogue returns the behaviours of every spec in the suite, sorted by ID.
// It fails if any spec's metadata is incomplete or an ID is used twice.
func Catalogue() ([]Behavior, error) {
	var all []Behavior
	all = append(all, behaviorsOf(storeSpecs())...)
	all = append(all, behaviorsOf(allAPISpecs())...)
	all = append(all, behaviorsOf(proxySpecs())...)
	all = append(all, behaviorsOf(kubeletSpecs())...)
	all = append(all, behaviorsOf(allSchedulerSpecs())...)
	all = append(all, behaviorsOf(allControllerSpecs())...)
	all = append(all, behaviorsOf(authSpecs())...)
	all = append(all, behaviorsOf(dnsSpecs())...)
	sort.Slice(all, func(i, j int) bool { return all[i].ID < all[j].ID })
	seen := map[string]bool{}
	for _, b := range all {
		if err := b.Check(); err != nil {
			return nil, err
		}
		if seen[b.ID] {
			return nil, fmt.Errorf("behaviour ID %s is used by two specs", b.ID)
		}
		seen[b.ID] = true
	}
	return all, nil
}

func behaviorsOf[E any](specs []spec[E]) []Behavior {
	out := make([]Behavior, len(specs))
	for i, s := range specs {
		out[i] = s.Behavior
	}
	return out
}

// Markdown renders the catalogue as docs/behaviors.md.
func Markdown(behaviors []Behavior) string {
	var b strings.Builder
	b.WriteString("# Behaviour catalogue\n\n")
	b.WriteString("Generated from the specs' metadata by `go run ./cmd/clusterkit conformance catalogue > docs/behaviors.md`;\n")
	b.WriteString("a test fails when this file is stale. Each row is one spec of the conformance suite.\n\n")
	var component string
	for _, x := range behaviors {
		if x.Component != component {
			if component != "" {
				b.WriteString("\n")
			}
			component = x.Component
			fmt.Fprintf(&b, "## %s\n\n| ID | behaviour | labels | needs | source |\n|---|---|---|---|---|\n", component)
		}
		var needs []string
		for _, n := range x.Needs {
			needs = append(needs, string(n))
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", x.ID, escape(x.Must),
			strings.Join(x.ginkgoLabels(), ", "), strings.Join(needs, ", "), escape(x.Source))
	}
	return b.String()
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
