// Package leaderelection runs a control plane component only while it holds a Lease, as
// kube-scheduler and kube-controller-manager do with --leader-elect: several copies may run
// (an HA control plane, a rolling restart) and exactly one acts at a time. It is client-go's
// leader election (tools/leaderelection with a coordination.k8s.io Lease lock) with the
// components' defaults and their way out: a leader that loses its Lease stops.
package leaderelection
