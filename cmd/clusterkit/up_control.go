package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers"
	"github.com/clusterkit/clusterkit/reference/controllers/nodeipam"
	"github.com/clusterkit/clusterkit/reference/controllers/nodelifecycle"
	"github.com/clusterkit/clusterkit/reference/controllers/podgc"
	"github.com/clusterkit/clusterkit/reference/scheduler"
)

// startUpControlPlane starts the reference scheduler and controller manager
// in the background against the API server, each with its own client certificate
// (system:kube-scheduler, system:kube-controller-manager; each controller then acts as its
// ServiceAccount), as chosen by
// --scheduler and --controllers; the returned function stops them and
// waits for them to end.
func startUpControlPlane(ctx context.Context, o *upOptions, acc upAccess, say func(string, ...any)) (func(), error) {
	var components []interfaces.Component
	switch o.scheduler {
	case "none":
		say("no scheduler: pods wait for one (schedulerName %q)", "default-scheduler")
	case "reference", "":
		s, err := scheduler.New(acc.rest(acc.pki.Scheduler), scheduler.Options{})
		if err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
		components = append(components, s)
	default:
		return nil, fmt.Errorf("unknown --scheduler %q: choose reference or none", o.scheduler)
	}
	if len(o.controllers) == 1 && o.controllers[0] == "none" {
		say("no controller manager: Deployments and ReplicaSets will not create pods")
	} else {
		// As kubeadm's kube-controller-manager: each controller writes as its own ServiceAccount
		// (--use-service-account-credentials); the manager's certificate only reads and
		// requests their tokens. Namespaces get the cluster CA in kube-root-ca.crt.
		m, err := controllers.New(controllers.Config{
			RESTConfig: acc.rest(acc.pki.ControllerManager), Controllers: o.controllers,
			ServiceAccountCredentials: true, RootCA: acc.pki.CA.CertPEM,
			NodeIPAM:      nodeipam.Config{ClusterCIDR: o.clusterCIDR},
			PodGC:         podgc.Config{TerminatedThreshold: o.terminatedPodGCThreshold},
			NodeLifecycle: nodelifecycle.Config{DeleteAfter: o.nodeDeletionGrace},
		})
		if err != nil {
			return nil, fmt.Errorf("controller manager (--controllers %s): %w", strings.Join(o.controllers, ","), err)
		}
		components = append(components, m)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range components {
		say("starting %s", c.Name())
		wg.Go(func() {
			if err := c.Run(ctx); err != nil && ctx.Err() == nil {
				say("%s stopped: %v", c.Name(), err)
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
