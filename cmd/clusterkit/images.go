package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/cri/images"
)

// newImagesCommand is `clusterkit images`: build the project's container
// images and load them into a containerd.
func newImagesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Build clusterkit's container images and load them into containerd",
		Long: `Build clusterkit's container images and load them into containerd.

Three images:
  ` + images.TestImage + `      the test image (/ckimage: serve-hostname, exit, liveness, sleep, logs)
  ` + images.PauseImage + `        the pause image of pod sandboxes
  ` + images.DNSImage + `   the cluster DNS server (Deployment coredns of a lab)

Inside the clusterkit source tree, with the go command, they are built from its Go programs
(small static binaries). Anywhere else they are made from this clusterkit executable, which
runs each program when called as /ckimage, /pause or /clusterdns: every image is the
executable and the libraries it links plus a symlink.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newImagesBuildCommand(), newImagesLoadCommand())
	return cmd
}

func newImagesBuildCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the images into an OCI image layout archive",
		Example: `  clusterkit images build -o images.tar
  ctr -n k8s.io images import images.tar`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			imgs, note, err := images.BuildOrFromExecutable(cmd.Context(), true)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "images %s\n", note)
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			if err := images.WriteOCIArchive(f, imgs); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			refs := make([]string, 0, len(imgs))
			for r := range imgs {
				refs = append(refs, r)
			}
			sort.Strings(refs)
			for _, r := range refs {
				fmt.Fprintln(cmd.OutOrStdout(), r)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "clusterkit-images.tar", "archive to write")
	return cmd
}

func newImagesLoadCommand() *cobra.Command {
	var address, archive string
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Import the images (built now, or from an archive) into containerd's k8s.io namespace",
		Example: `  clusterkit images load --address /run/containerd/containerd.sock
  clusterkit images load --address /tmp/ck/containerd.sock --archive images.tar`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var r io.Reader
			if archive != "" {
				f, err := os.Open(archive)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			} else {
				imgs, note, err := images.BuildOrFromExecutable(cmd.Context(), true)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "images %s\n", note)
				var buf bytes.Buffer
				if err := images.WriteOCIArchive(&buf, imgs); err != nil {
					return err
				}
				r = &buf
			}
			names, err := containerd.ImportTo(cmd.Context(), address, r)
			if err != nil {
				return err
			}
			for _, n := range names {
				fmt.Fprintln(cmd.OutOrStdout(), n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&address, "address", "/run/containerd/containerd.sock", "containerd socket")
	cmd.Flags().StringVar(&archive, "archive", "", "image archive to import (default: build the images now)")
	return cmd
}
