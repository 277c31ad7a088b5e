package kubeletharness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/clusterkit/clusterkit/cri/containerd"
	"github.com/clusterkit/clusterkit/cri/images"
)

// ContainerdUnavailable returns why real containers cannot run here
// (not root, containerd, runc or the CNI plugins missing), or "".
func ContainerdUnavailable() string {
	if err := containerd.Available(); err != nil {
		return err.Error()
	}
	return ""
}

// StartContainerd builds the test and pause images, starts a private
// containerd (own directory, bridge and pod subnet) and imports the images
// into it. It returns the CRI endpoint and a function that stops containerd
// and removes its directory.
func StartContainerd(ctx context.Context) (string, func(), error) {
	imgs, err := images.BuildAll(ctx, images.BuildOptions{})
	if err != nil {
		return "", nil, fmt.Errorf("building the test images: %w", err)
	}
	var archive bytes.Buffer
	if err := images.WriteOCIArchive(&archive, imgs); err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "ckkl")
	if err != nil {
		return "", nil, err
	}
	var rb [2]byte
	_, _ = rand.Read(rb[:])
	cfg := containerd.Config{Dir: dir, Bridge: "ckk" + hex.EncodeToString(rb[:]), Subnet: fmt.Sprintf("10.89.%d.0/24", int(rb[0])%200)}
	inst, err := containerd.Start(ctx, cfg)
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, fmt.Errorf("starting containerd: %w", err)
	}
	stop := func() {
		_ = inst.Stop(context.Background())
		_ = os.RemoveAll(dir)
	}
	if _, err := inst.Import(ctx, &archive); err != nil {
		stop()
		return "", nil, fmt.Errorf("importing the test images: %w", err)
	}
	return inst.Endpoint(), stop, nil
}
