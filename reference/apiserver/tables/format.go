package tables

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

const (
	none    = "<none>"
	unknown = "<unknown>"
	unset   = "<unset>"
	// listMax is how many entries list-like cells show before "+ N more...".
	listMax = 3
)

// age renders the time elapsed from t to now the way kubectl does ("5m",
// "3h12m", "2d"); a zero time is "<unknown>".
func age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return unknown
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func microAge(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return unknown
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// containerCells returns the comma-joined names and images of containers.
func containerCells(containers []corev1.Container) (string, string) {
	names := make([]string, 0, len(containers))
	images := make([]string, 0, len(containers))
	for _, c := range containers {
		names = append(names, c.Name)
		images = append(images, c.Image)
	}
	return strings.Join(names, ","), strings.Join(images, ",")
}

// withMore joins shown entries and appends " + N more..." when total exceeds
// what is shown.
func withMore(shown []string, total int) string {
	s := strings.Join(shown, ",")
	if total > len(shown) {
		return fmt.Sprintf("%s + %d more...", s, total-len(shown))
	}
	return s
}

// formatEndpoints lists up to three ip:port pairs (bare IPs for subsets
// without ports) of an Endpoints object.
func formatEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return none
	}
	var shown []string
	total := 0
	add := func(s string) {
		if len(shown) < listMax {
			shown = append(shown, s)
		}
	}
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			total += len(ss.Addresses)
			for _, a := range ss.Addresses {
				add(a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			total += len(ss.Addresses)
			for _, a := range ss.Addresses {
				add(net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	return withMore(shown, total)
}

func formatSlicePorts(ports []discoveryv1.EndpointPort) string {
	var shown []string
	for _, p := range ports {
		if len(shown) == listMax {
			break
		}
		s := "*"
		switch {
		case p.Port != nil:
			s = strconv.Itoa(int(*p.Port))
		case p.Name != nil:
			s = *p.Name
		}
		shown = append(shown, s)
	}
	if len(ports) == 0 {
		return unset
	}
	return withMore(shown, len(ports))
}

func formatSliceEndpoints(endpoints []discoveryv1.Endpoint) string {
	var shown []string
	total := 0
	for _, e := range endpoints {
		for _, a := range e.Addresses {
			if len(shown) < listMax {
				shown = append(shown, a)
			}
			total++
		}
	}
	if total == 0 {
		return unset
	}
	return withMore(shown, total)
}

// formatLabels renders a label map as sorted k=v pairs, "<none>" when empty.
func formatLabels(m map[string]string) string {
	if len(m) == 0 {
		return none
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// selectorString renders a label selector like kubectl's wide SELECTOR
// column; nil and empty selectors are "<none>".
func selectorString(sel *metav1.LabelSelector) string {
	return metav1.FormatLabelSelector(sel)
}

func boolPtr(b *bool) string {
	if b == nil {
		return unset
	}
	if *b {
		return "True"
	}
	return "False"
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func sortStrings(s []string) { sort.Strings(s) }
