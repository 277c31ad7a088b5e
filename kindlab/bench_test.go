package kindlab_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/clusterkit/clusterkit/cri/images"
	"github.com/clusterkit/clusterkit/kindlab"
)

// BenchmarkLabCreate creates a lab of a control-plane node and CLUSTERKIT_BENCH_LAB_WORKERS
// workers (default 2) from a freshly built clusterkit, once with node containers and once with
// network-namespace nodes (the sub-benchmarks alternate with -count), and reports per lab:
// seconds from Create to every node Ready (s-ready), the memory the idle workers' containers
// use 10 s later (MiB-per-worker: the node cgroup's rss, container nodes only), seconds to load
// a 50 MB image archive into every node (s-load-50MB), and seconds to delete it (s-delete).
//
//	go test -run '^$' -bench LabCreate -benchtime 1x -count 3 ./kindlab
func BenchmarkLabCreate(b *testing.B) {
	if why := kindlab.Unavailable(); why != "" {
		b.Skip(why)
	}
	workers := 2
	if v := os.Getenv("CLUSTERKIT_BENCH_LAB_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("CLUSTERKIT_BENCH_LAB_WORKERS=%q: %v", v, err)
		}
		workers = n
	}
	dir := b.TempDir()
	bin := buildClusterkit(context.Background(), b, dir)
	img, err := random.Image(50<<20, 1)
	if err != nil {
		b.Fatal(err)
	}
	var archive bytes.Buffer
	if err := images.WriteOCIArchive(&archive, map[string]v1.Image{"example.com/bench/fifty:v1": img}); err != nil {
		b.Fatal(err)
	}
	for _, rt := range []string{kindlab.NodeContainers, kindlab.NodeNamespaces} {
		b.Run(fmt.Sprintf("nodes=%s/workers=%d", rt, workers), func(b *testing.B) {
			var ready, load, del, mem time.Duration
			var memMiB float64
			for i := 0; i < b.N; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				labDir := filepath.Join(dir, fmt.Sprintf("lab-%s-%d", rt, i))
				start := time.Now()
				lab, err := kindlab.Create(ctx, kindlab.Config{Name: fmt.Sprintf("ckb%d", i), Nodes: workers, Dir: labDir,
					Binary: bin, NodeRuntime: rt})
				if err != nil {
					cancel()
					b.Fatalf("creating the lab: %v", err)
				}
				ready += time.Since(start)
				if rt == kindlab.NodeContainers {
					time.Sleep(10 * time.Second)
					memMiB += workerRSS(b, lab) / float64(workers)
					mem++
				}
				start = time.Now()
				if err := lab.ImportImages(ctx, archive.Bytes(), nil); err != nil {
					b.Errorf("loading 50 MB into the lab: %v", err)
				}
				load += time.Since(start)
				start = time.Now()
				if err := lab.Delete(ctx, io.Discard); err != nil {
					b.Errorf("deleting the lab: %v", err)
				}
				del += time.Since(start)
				cancel()
			}
			n := float64(b.N)
			b.ReportMetric(ready.Seconds()/n, "s-ready")
			b.ReportMetric(load.Seconds()/n, "s-load-50MB")
			b.ReportMetric(del.Seconds()/n, "s-delete")
			if mem > 0 {
				b.ReportMetric(memMiB/float64(mem), "MiB-per-worker")
			}
		})
	}
}

// workerRSS sums the rss (total_rss of memory.stat, page cache left out) of the lab's worker
// node containers' cgroups, in MiB.
func workerRSS(b *testing.B, lab *kindlab.Lab) float64 {
	total := 0.0
	for _, n := range lab.Workers() {
		path := filepath.Join("/sys/fs/cgroup/memory/clusterkit", fmt.Sprintf("cklab%d", lab.Index), n.Name, "memory.stat")
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatalf("node %s's memory: %v", n.Name, err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "total_rss "); ok {
				bytes, _ := strconv.ParseFloat(v, 64)
				total += bytes / (1 << 20)
			}
		}
	}
	return total
}
