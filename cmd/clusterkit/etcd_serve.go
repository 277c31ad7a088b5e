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
	// member: --name, --listen-peer-url, --initial-cluster, --initial-cluster-state;
	// peerCert, peerKey: --peer-cert-file, --peer-key-file.
	member            etcdstore.Member
	peerCert, peerKey string
}

// newEtcdServeCommand is `clusterkit etcd serve`: one etcd member in the foreground, as the
// etcd static pod of a kubeadm control plane runs it.
func newEtcdServeCommand() *cobra.Command {
	o := &etcdServeOptions{dataDir: defaultEtcdDataDir(), listen: "https://127.0.0.1:2379"}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run an etcd member (HTTPS, client certificates required) until interrupted: alone, or one of several",
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
			ecfg := etcdstore.EmbeddedConfig{DataDir: cfg.DataDir, ListenClientURL: o.listen, TLS: cfg.ServerTLS, ClientTLS: cfg.TLS}
			if o.member.InitialCluster != "" {
				// One member of several: its peers reach it at --listen-peer-url, whose address
				// its peer certificate must name.
				m := o.member
				ecfg.Member = &m
				if o.peerCert != "" {
					t := *cfg.ServerTLS
					t.PeerCertFile, t.PeerKeyFile = o.peerCert, o.peerKey
					ecfg.TLS = &t
				}
			} else if cmd.Flags().Changed("name") || cmd.Flags().Changed("listen-peer-url") {
				return fmt.Errorf("--name and --listen-peer-url make this server one member of several: give --initial-cluster too")
			}
			e, err := etcdstore.StartEmbedded(ctx, ecfg)
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
	f.StringVar(&o.member.Name, "name", "", "this member's name in --initial-cluster (a cluster of several members)")
	f.StringVar(&o.member.PeerURL, "listen-peer-url", "", "URL this member listens on for its peers and advertises to them, e.g. https://10.0.0.2:2380")
	f.StringVar(&o.member.InitialCluster, "initial-cluster", "", "every member of a new cluster as NAME=PEER-URL,… (this one included); empty runs a lone member")
	f.StringVar(&o.member.InitialClusterState, "initial-cluster-state", "new", "new (the members listed start the cluster together) or existing (join a running cluster this member was added to)")
	f.StringVar(&o.peerCert, "peer-cert-file", "", "peer certificate naming --listen-peer-url's address (default PKI/etcd/peer.crt, for loopback only)")
	f.StringVar(&o.peerKey, "peer-key-file", "", "key of --peer-cert-file")
	return cmd
}
