// Package schedulerplugin is the first example of docs/scheduler.md: your
// own scheduling rules as a Go plugin set plugged into the reference
// scheduler. It is compiled and run through the scheduler conformance suite
// by go test, so the example cannot rot.
//
// The plugins: Maintenance filters out nodes labelled
// example.com/maintenance=true (unless the pod tolerates it by the same
// label), and PreferLabelled scores up nodes carrying a configured label.
package schedulerplugin

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/scheduler"
)

// MaintenanceLabel marks a node under maintenance.
const MaintenanceLabel = "example.com/maintenance"

// Maintenance is a FilterPlugin.
type Maintenance struct{}

// Name implements interfaces.Plugin.
func (Maintenance) Name() string { return "Maintenance" }

// Filter rejects nodes under maintenance, unless the pod carries the label
// itself (maintenance jobs).
func (Maintenance) Filter(_ context.Context, pod *corev1.Pod, node *interfaces.NodeInfo) *interfaces.Status {
	if node.Node.Labels[MaintenanceLabel] == "true" && pod.Labels[MaintenanceLabel] != "true" {
		return interfaces.NewStatus(interfaces.UnschedulableAndUnresolvable, "node(s) were under maintenance")
	}
	return nil
}

// PreferLabelledArgs configures PreferLabelled.
type PreferLabelledArgs struct{ Label string }

// PreferLabelled is a ScorePlugin.
type PreferLabelled struct{ label string }

// Name implements interfaces.Plugin.
func (PreferLabelled) Name() string { return "PreferLabelled" }

// Score is MaxNodeScore for nodes with the label, 0 for the others.
func (p PreferLabelled) Score(_ context.Context, _ *corev1.Pod, node *interfaces.NodeInfo) (int64, *interfaces.Status) {
	if _, ok := node.Node.Labels[p.label]; ok {
		return interfaces.MaxNodeScore, nil
	}
	return 0, nil
}

// Plugins is the plugin set: the factories get their configuration through
// the Handle.
func Plugins() interfaces.Registry {
	return interfaces.Registry{
		"Maintenance": func(interfaces.Handle) (interfaces.Plugin, error) { return Maintenance{}, nil },
		"PreferLabelled": func(h interfaces.Handle) (interfaces.Plugin, error) {
			args, ok := h.Args().(PreferLabelledArgs)
			if !ok || args.Label == "" {
				return nil, fmt.Errorf("PreferLabelled needs PreferLabelledArgs with a Label, got %T", h.Args())
			}
			return PreferLabelled{label: args.Label}, nil
		},
	}
}

// Profile is the reference profile plus the two plugins.
func Profile(scoring interfaces.SchedulerScoring, preferLabel string) scheduler.Profile {
	p := scheduler.DefaultProfile(scoring)
	p.Filters = append(p.Filters, "Maintenance")
	p.Scores["PreferLabelled"] = 1
	p.Args["PreferLabelled"] = PreferLabelledArgs{Label: preferLabel}
	return p
}
