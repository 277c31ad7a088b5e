package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	etcdstore "github.com/clusterkit/clusterkit/reference/store/etcd"
)

// defaultEtcdDataDir is where clusterkit keeps its embedded etcd unless told
// otherwise: $HOME/.clusterkit/data/etcd.
func defaultEtcdDataDir() string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(".clusterkit", "data", "etcd")
	}
	return filepath.Join(home, ".clusterkit", "data", "etcd")
}

// newEtcdCommand is `clusterkit etcd`: maintenance of the etcd that holds the
// cluster's state.
func newEtcdCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "etcd",
		Short: "Maintain the etcd that stores the cluster's state",
		Long: `Maintain the etcd that stores the cluster's state.

clusterkit keeps every API object in etcd: by default an embedded etcd whose data
lives in ` + defaultEtcdDataDir() + `, or an external etcd cluster given with
--etcd-endpoints. These commands work on either.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newEtcdSnapshotCommand(), newEtcdServeCommand())
	return cmd
}

func newEtcdSnapshotCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Save, restore and inspect etcd snapshots",
		Long: `Save, restore and inspect etcd snapshots.

Snapshots use etcd's own file format: a file saved here can be restored with
etcdutl, and one saved with "etcdctl snapshot save" can be restored here.

Example:
  # back up the embedded etcd (stop clusterkit first), then restore elsewhere
  clusterkit etcd snapshot save backup.db
  clusterkit etcd snapshot status backup.db
  clusterkit etcd snapshot restore backup.db --data-dir /var/lib/clusterkit-restored`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newEtcdSnapshotSaveCommand(), newEtcdSnapshotRestoreCommand(), newEtcdSnapshotStatusCommand())
	return cmd
}

func newEtcdSnapshotSaveCommand() *cobra.Command {
	var (
		dataDir   string
		endpoints []string
		etcdTLS   etcdClientFiles
		timeout   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "save FILE",
		Short: "Save a snapshot of etcd to FILE",
		Long: `Save a snapshot of etcd to FILE.

With --etcd-endpoints the snapshot is taken from that running etcd (give one
member: a snapshot is one member's state). Otherwise the embedded etcd is opened
on --data-dir, which must not be in use: stop the clusterkit that runs on it
first, or point at its etcd with --etcd-endpoints. FILE is written atomically;
an existing FILE is replaced.

Examples:
  clusterkit etcd snapshot save backup.db
  clusterkit etcd snapshot save backup.db --data-dir /var/lib/clusterkit/etcd
  clusterkit etcd snapshot save backup.db --etcd-endpoints 127.0.0.1:2379
  clusterkit etcd snapshot save backup.db --etcd-endpoints 10.0.0.5:2379 \
      --etcd-cafile etcd/ca.crt --etcd-certfile apiserver-etcd-client.crt --etcd-keyfile apiserver-etcd-client.key`,
		Args: exactFileArg("save"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(endpoints) > 0 && cmd.Flags().Changed("data-dir") {
				return errors.New("give either --data-dir or --etcd-endpoints, not both")
			}
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			file := args[0]
			progress := cmd.ErrOrStderr()
			if len(endpoints) == 0 && !etcdTLS.empty() {
				return errors.New("--etcd-cafile, --etcd-certfile and --etcd-keyfile are for --etcd-endpoints")
			}
			if len(endpoints) > 0 {
				cfg, err := externalEtcdConfig(endpoints, etcdTLS)
				if err != nil {
					return err
				}
				fmt.Fprintf(progress, "Saving a snapshot of etcd at %s to %s...\n", strings.Join(endpoints, ","), file)
				if err := etcdstore.SaveSnapshotFromEndpointsTLS(ctx, endpoints, cfg.TLS, file); err != nil {
					return fmt.Errorf("%w — check --etcd-endpoints (and --etcd-cafile, --etcd-certfile, --etcd-keyfile for an etcd with TLS)", err)
				}
			} else {
				if err := requireEtcdData(dataDir); err != nil {
					return err
				}
				// The embedded etcd serves only this process, with a throw-away PKI: HTTPS
				// and client certificates, as up's, without writing into the data directory.
				pkiDir, err := os.MkdirTemp("", "clusterkit-etcd-pki-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(pkiDir)
				cfg, err := embeddedEtcdConfig(dataDir, pkiDir)
				if err != nil {
					return err
				}
				fmt.Fprintf(progress, "Opening the embedded etcd on %s...\n", dataDir)
				s, err := etcdstore.Open(ctx, cfg)
				if err != nil {
					return err
				}
				fmt.Fprintf(progress, "Saving a snapshot to %s...\n", file)
				saveErr := etcdstore.SaveSnapshot(ctx, s.Client(), file)
				fmt.Fprintf(progress, "Stopping the embedded etcd...\n")
				if err := errors.Join(saveErr, s.Close()); err != nil {
					return err
				}
			}
			info, err := etcdstore.SnapshotStatus(file)
			if err != nil {
				return fmt.Errorf("the snapshot was saved but does not read back: %w", err)
			}
			fmt.Fprintf(progress, "Saved %s: revision %d, %d keys, %s.\n", file, info.Revision, info.TotalKeys, byteSize(info.TotalSize))
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", defaultEtcdDataDir(), "data directory of the embedded etcd to snapshot")
	cmd.Flags().StringSliceVar(&endpoints, "etcd-endpoints", nil, "snapshot a running etcd at these endpoints (host:port) instead of the embedded one")
	etcdTLS.addFlags(cmd.Flags())
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "give up after this long")
	return cmd
}

func newEtcdSnapshotRestoreCommand() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "restore FILE --data-dir DIR",
		Short: "Restore a snapshot into a new data directory",
		Long: `Restore the etcd snapshot FILE into the data directory DIR.

DIR must not exist or must be empty: a restore never overwrites data. Afterwards
an embedded etcd started on DIR serves exactly the keys, values and revisions of
the snapshot. The snapshot's integrity hash is checked first.

Example:
  clusterkit etcd snapshot restore backup.db --data-dir /var/lib/clusterkit-restored/etcd`,
		Args: exactFileArg("restore"),
		RunE: func(cmd *cobra.Command, args []string) error {
			file := args[0]
			progress := cmd.ErrOrStderr()
			fmt.Fprintf(progress, "Checking snapshot %s...\n", file)
			info, err := etcdstore.SnapshotStatus(file)
			if err != nil {
				return fmt.Errorf("%w — restore a file written by \"clusterkit etcd snapshot save\" or \"etcdctl snapshot save\"", err)
			}
			fmt.Fprintf(progress, "Restoring revision %d (%d keys) into %s...\n", info.Revision, info.TotalKeys, dataDir)
			if err := etcdstore.RestoreSnapshot(cmd.Context(), file, dataDir, nil); err != nil {
				return err
			}
			fmt.Fprintf(progress, "Restored %s into %s; start clusterkit with this data directory to serve it.\n", file, dataDir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "new or empty data directory to restore into (required)")
	_ = cmd.MarkFlagRequired("data-dir")
	return cmd
}

func newEtcdSnapshotStatusCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status FILE",
		Short: "Show a snapshot's hash, revision, key count and size",
		Long: `Show the hash, revision, number of keys and size of the etcd snapshot FILE,
after checking the file's integrity.

Example:
  clusterkit etcd snapshot status backup.db
  clusterkit etcd snapshot status backup.db -o json`,
		Args: exactFileArg("status"),
		RunE: func(cmd *cobra.Command, args []string) error {
			info, err := etcdstore.SnapshotStatus(args[0])
			if err != nil {
				return err
			}
			return printSnapshotInfo(cmd.OutOrStdout(), info, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

func printSnapshotInfo(w io.Writer, info etcdstore.SnapshotInfo, output string) error {
	switch output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Hash      string `json:"hash"`
			Revision  int64  `json:"revision"`
			TotalKeys int    `json:"totalKeys"`
			TotalSize int64  `json:"totalSize"`
			Version   string `json:"version,omitempty"`
		}{fmt.Sprintf("%08x", info.Hash), info.Revision, info.TotalKeys, info.TotalSize, info.Version})
	case "table", "":
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		fmt.Fprintln(tw, "HASH\tREVISION\tTOTAL KEYS\tTOTAL SIZE\tVERSION")
		fmt.Fprintf(tw, "%08x\t%d\t%d\t%s\t%s\n", info.Hash, info.Revision, info.TotalKeys, byteSize(info.TotalSize), info.Version)
		return tw.Flush()
	default:
		return fmt.Errorf("unknown output format %q: use table or json", output)
	}
}

// exactFileArg requires exactly one FILE argument, with a usage hint.
func exactFileArg(verb string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("snapshot %s needs exactly one FILE argument, got %d — see \"clusterkit etcd snapshot %s --help\"", verb, len(args), verb)
		}
		return nil
	}
}

// requireEtcdData fails unless dir holds an etcd data directory, so that
// saving from a wrong --data-dir does not silently start an empty etcd.
func requireEtcdData(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "member")); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no etcd data in %q — pass the --data-dir clusterkit runs with, or --etcd-endpoints for a running etcd", dir)
		}
		return fmt.Errorf("cannot read etcd data in %q: %w", dir, err)
	}
	return nil
}

// byteSize formats n bytes for people.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
