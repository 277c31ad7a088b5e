package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/clusterkit/clusterkit/reference/controllers"
	"github.com/clusterkit/clusterkit/reference/controllers/nodeipam"
	"github.com/clusterkit/clusterkit/reference/controllers/nodelifecycle"
	"github.com/clusterkit/clusterkit/reference/controllers/podgc"
	"github.com/clusterkit/clusterkit/reference/scheduler"
)

// upServing is what up's servers that run before any kubelet signal: etcdDone closes when the
// embedded etcd stops (nil with --etcd-endpoints: no etcd static pod then, as with kubeadm's
// external etcd), apiDone when the API server stops serving.
type upServing struct {
	etcdDone, apiDone <-chan struct{}
	etcdEndpoints     []string
	apiURL            string
}

// upComponents are the control-plane components of up: etcd (when embedded) and the API
// server, which already serve, then the reference scheduler and controller manager as chosen by
// --scheduler and --controllers, each with its own client certificate (system:kube-scheduler,
// system:kube-controller-manager; each controller then acts as its ServiceAccount). Each run
// builds the component anew, so that it can be restarted.
func upComponents(o *upOptions, acc upAccess, s upServing, say func(string, ...any)) ([]upComponent, error) {
	var cs []upComponent
	if s.etcdDone != nil {
		cs = append(cs, serverComponent("etcd", "100m", "100Mi",
			fmt.Sprintf("etcd (embedded in clusterkit up) serving clients at %s, data dir %s", strings.Join(s.etcdEndpoints, ","), o.dataDir), s.etcdDone))
	}
	cs = append(cs, serverComponent("kube-apiserver", "250m", "",
		fmt.Sprintf("kube-apiserver (clusterkit up) serving at %s", s.apiURL), s.apiDone))
	switch o.scheduler {
	case "none":
		say("no scheduler: pods wait for one (schedulerName %q)", "default-scheduler")
	case "reference", "":
		cs = append(cs, upComponent{name: "kube-scheduler", cpu: "100m", run: func(ctx context.Context, log io.Writer) error {
			s, err := scheduler.New(acc.rest(acc.pki.Scheduler), scheduler.Options{Logf: logfTo(log)})
			if err != nil {
				return fmt.Errorf("scheduler: %w", err)
			}
			fmt.Fprintln(log, "kube-scheduler (clusterkit's reference scheduler) starting")
			return s.Run(ctx)
		}})
	default:
		return nil, fmt.Errorf("unknown --scheduler %q: choose reference or none", o.scheduler)
	}
	if len(o.controllers) == 1 && o.controllers[0] == "none" {
		say("no controller manager: Deployments and ReplicaSets will not create pods")
	} else {
		// As kubeadm's kube-controller-manager: each controller writes as its own ServiceAccount
		// (--use-service-account-credentials); the manager's certificate only reads and
		// requests their tokens. Namespaces get the cluster CA in kube-root-ca.crt.
		cfg := func(log io.Writer) controllers.Config {
			return controllers.Config{
				RESTConfig: acc.rest(acc.pki.ControllerManager), Controllers: o.controllers,
				ServiceAccountCredentials: true, RootCA: acc.pki.CA.CertPEM,
				NodeIPAM:      nodeipam.Config{ClusterCIDR: o.clusterCIDR},
				PodGC:         podgc.Config{TerminatedThreshold: o.terminatedPodGCThreshold},
				NodeLifecycle: nodelifecycle.Config{DeleteAfter: o.nodeDeletionGrace},
				Log:           logfTo(log),
			}
		}
		// Check the selection now, so that a wrong --controllers fails up at once.
		if _, err := controllers.New(cfg(io.Discard)); err != nil {
			return nil, fmt.Errorf("controller manager (--controllers %s): %w", strings.Join(o.controllers, ","), err)
		}
		cs = append(cs, upComponent{name: "kube-controller-manager", cpu: "200m", run: func(ctx context.Context, log io.Writer) error {
			m, err := controllers.New(cfg(log))
			if err != nil {
				return err
			}
			fmt.Fprintf(log, "kube-controller-manager (clusterkit's reference controllers %s) starting\n", strings.Join(o.controllers, ","))
			return m.Run(ctx)
		}})
	}
	return append(cs, o.extraComponents...), nil
}

// startUpControlPlane starts up's control plane: with --control-plane-node as static pods of
// the control-plane node (up_controlplane.go), else the scheduler and controller manager in the
// background of this process. The returned function stops them and waits for them to end.
func startUpControlPlane(ctx context.Context, o *upOptions, acc upAccess, s upServing, say func(string, ...any)) (func(), error) {
	components, err := upComponents(o, acc, s, say)
	if err != nil {
		return nil, err
	}
	if o.controlPlaneNode {
		say("starting the control-plane node %s: %d static pods", upControlPlaneNodeName(), len(components))
		n, err := startUpControlPlaneNode(ctx, o, acc, components, say)
		if err != nil {
			return nil, err
		}
		return func() { n.stop(say) }, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range components {
		if c.name == "etcd" || c.name == "kube-apiserver" {
			continue // they stand for servers that already run
		}
		say("starting %s", c.name)
		wg.Go(func() {
			if err := c.run(ctx, io.Discard); err != nil && ctx.Err() == nil {
				say("%s stopped: %v", c.name, err)
			}
		})
	}
	return func() {
		cancel()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			say("the scheduler or controller manager did not stop within 10s")
		}
	}, nil
}
