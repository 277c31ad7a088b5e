// Command crwebhook is a controller-runtime webhook server as an operator ships one: it
// serves the Labeler's mutating and validating webhooks for ConfigMaps over TLS from the
// certificate in --cert-dir (tls.crt, tls.key: a kubernetes.io/tls Secret mounted there) and
// reports ready on --health-port once the webhook server listens. It talks to the API
// server with the pod's ServiceAccount (in-cluster configuration). The lab test of this
// module runs it as a Deployment in a clusterkit lab.
package main

import (
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	controllerruntime "github.com/clusterkit/clusterkit/peers/controller-runtime"
)

func main() {
	certDir := flag.String("cert-dir", "/certs", "directory holding tls.crt and tls.key")
	port := flag.Int("port", 9443, "port of the webhook server")
	healthPort := flag.Int("health-port", 8081, "port of /healthz and /readyz")
	flag.Parse()
	if err := run(*certDir, *port, *healthPort); err != nil {
		fmt.Fprintln(os.Stderr, "crwebhook:", err)
		os.Exit(1)
	}
}

func run(certDir string, port, healthPort int) error {
	ctrl.SetLogger(zap.New())
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("the API server's address (run in a pod, or set KUBECONFIG): %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: fmt.Sprintf(":%d", healthPort),
		WebhookServer:          webhook.NewServer(webhook.Options{Port: port, CertDir: certDir}),
	})
	if err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return err
	}
	if err := controllerruntime.Register(mgr); err != nil {
		return err
	}
	return mgr.Start(ctrl.SetupSignalHandler())
}
