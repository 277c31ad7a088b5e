package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
)

// etcdServeOptions are the flags of `clusterkit etcd serve`.
type etcdServeOptions struct {
	dataDir, pkiDir, listen string
}

// newEtcdServeCommand is `clusterkit etcd serve`: one etcd member in the foreground, as the
// etcd static pod of a kubeadm control plane runs it.
func newEtcdServeCommand() *cobra.Command {
	o := &etcdServeOptions{dataDir: defaultEtcdDataDir(), listen: "https://127.0.0.1:2379"}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a single-member etcd (HTTPS, client certificates required) until interrupted",
		Long: `serve runs one etcd member on --data-dir, the same embedded etcd "clusterkit up" starts,
in the foreground: clients connect to --listen-client-url over HTTPS and must present a
certificate signed by etcd's CA. The CA, etcd's serving and peer certificates and the API
server's client certificate (apiserver-etcd-client) are kept in (or made in) --pki-dir, as
kubeadm lays them out (PKI/etcd/ca.crt, PKI/etcd/server.crt, PKI/apiserver-etcd-client.crt).
Point an API server at it with:

  clusterkit up --nodes 0 --etcd-endpoints https://127.0.0.1:2379 \
    --etcd-cafile PKI/etcd/ca.crt --etcd-certfile PKI/apiserver-etcd-client.crt \
    --etcd-keyfile PKI/apiserver-etcd-client.key

Labs run it as the etcd static pod of their control-plane node.`,
		Example: `  clusterkit etcd serve --data-dir /var/lib/etcd --pki-dir /etc/kubernetes/pki`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			pkiDir := o.pkiDir
			if pkiDir == "" {
				pkiDir = filepath.Join(o.dataDir, "pki")
			}
			// The same member `up` embeds, on a fixed client URL.
			cfg, err := embeddedEtcdConfig(o.dataDir, pkiDir)
			if err != nil {
				return err
			}
			e, err := etcdstore.StartEmbedded(ctx, etcdstore.EmbeddedConfig{
				DataDir: cfg.DataDir, ListenClientURL: o.listen, TLS: cfg.ServerTLS, ClientTLS: cfg.TLS,
			})
			if err != nil {
				return err
			}
			defer e.Close()
			fmt.Fprintf(cmd.ErrOrStderr(), "etcd: serving %s (data %s); Ctrl-C to stop\n", o.listen, o.dataDir)
			<-ctx.Done()
			fmt.Fprintln(cmd.ErrOrStderr(), "etcd: stopping")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", o.dataDir, "etcd's data directory")
	f.StringVar(&o.pkiDir, "pki-dir", "", "directory of the cluster's PKI, etcd's under etcd/ (default DATA-DIR/pki, as clusterkit up)")
	f.StringVar(&o.listen, "listen-client-url", o.listen, "URL clients connect to (https)")
	return cmd
}
