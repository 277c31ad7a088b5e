//go:build unix

package apiserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// lockedBuffer collects a subprocess's output for failure messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// buildClusterkit compiles cmd/clusterkit into dir and returns the binary's path.
func buildClusterkit(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "clusterkit")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/clusterkit/clusterkit/cmd/clusterkit").CombinedOutput()
	if err != nil {
		t.Fatalf("building clusterkit: %v\n%s", err, out)
	}
	return bin
}

// upProcess is one `clusterkit up` subprocess.
type upProcess struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	done   chan struct{}
	err    error // set before done is closed
	client kubernetes.Interface
}

// startUpProcess runs `clusterkit up` on dataDir, waits until it serves /readyz through the
// kubeconfig it writes, and makes sure the process is gone when the test ends.
func startUpProcess(t *testing.T, bin, dataDir, kubeconfig string) *upProcess {
	t.Helper()
	_ = os.Remove(kubeconfig)
	p := &upProcess{out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, "up", "--port", "0", "--data-dir", dataDir, "--kubeconfig", kubeconfig)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting clusterkit up: %v", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})

	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-p.done:
			t.Fatalf("clusterkit up exited before it was ready: %v\n%s", p.err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("clusterkit up not ready after 2m\n%s", p.out.String())
		}
		if cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig); err == nil && cfg.Host != "" {
			cfg.QPS, cfg.Burst, cfg.Timeout = 1000, 1000, 10*time.Second
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			cancel()
			if err == nil && string(body) == "ok" {
				p.client = client
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ackedWrite is what the client was told about one ConfigMap: its uid and the highest value of
// data["n"] the server acknowledged.
type ackedWrite struct {
	uid types.UID
	n   int
}

// TestCrashLosesNoAcknowledgedWrite kills `clusterkit up` with SIGKILL in the middle of a stream of
// creates and updates from several clients, restarts it on the same data directory and checks
// that every write the server acknowledged is there (with at least the acknowledged content).
func TestCrashLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the clusterkit binary and starts it twice")
	}
	dir := t.TempDir()
	bin := buildClusterkit(t, dir)
	dataDir, kubeconfig := filepath.Join(dir, "data"), filepath.Join(dir, "kubeconfig")
	p := startUpProcess(t, bin, dataDir, kubeconfig)

	const writers = 4
	const killAfter = 300 // acknowledged writes before the kill
	var (
		mu      sync.Mutex
		acked   = map[string]ackedWrite{}
		total   atomic.Int64
		killed  atomic.Bool
		stopped = make(chan struct{})
		wg      sync.WaitGroup
		early   = make(chan error, writers)
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cms := p.client.CoreV1().ConfigMaps("default")
			var mine []string
			for i := 0; ; i++ {
				select {
				case <-stopped:
					return
				default:
				}
				var err error
				if i%3 == 2 && len(mine) > 0 {
					// Update one of this writer's ConfigMaps to the next value.
					name := mine[i%len(mine)]
					mu.Lock()
					next := acked[name].n + 1
					mu.Unlock()
					var cm *corev1.ConfigMap
					cm, err = cms.Get(ctx, name, metav1.GetOptions{})
					if err == nil {
						cm.Data["n"] = strconv.Itoa(next)
						_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
					}
					if err == nil {
						mu.Lock()
						acked[name] = ackedWrite{uid: cm.UID, n: next}
						mu.Unlock()
					}
				} else {
					name := fmt.Sprintf("w%d-%d", g, i)
					var cm *corev1.ConfigMap
					cm, err = cms.Create(ctx, &corev1.ConfigMap{
						ObjectMeta: metav1.ObjectMeta{Name: name},
						Data:       map[string]string{"n": "0"},
					}, metav1.CreateOptions{})
					if err == nil {
						mu.Lock()
						acked[name] = ackedWrite{uid: cm.UID, n: 0}
						mu.Unlock()
						mine = append(mine, name)
					}
				}
				if err != nil {
					if !killed.Load() {
						early <- fmt.Errorf("writer %d before the kill: %w", g, err)
					}
					return
				}
				total.Add(1)
			}
		}()
	}

	for total.Load() < killAfter {
		select {
		case err := <-early:
			close(stopped)
			wg.Wait()
			t.Fatalf("%v\n%s", err, p.out.String())
		case <-ctx.Done():
			t.Fatalf("only %d acknowledged writes before the deadline", total.Load())
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Kill while the writers are still sending.
	killed.Store(true)
	if err := syscall.Kill(p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-p.done
	var exitErr *exec.ExitError
	if !errors.As(p.err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("clusterkit up did not die of SIGKILL: %v", p.err)
	}
	close(stopped)
	wg.Wait()
	select {
	case err := <-early:
		t.Fatal(err)
	default:
	}

	mu.Lock()
	want := make(map[string]ackedWrite, len(acked))
	for k, v := range acked {
		want[k] = v
	}
	mu.Unlock()
	t.Logf("%d acknowledged writes to %d ConfigMaps before SIGKILL", total.Load(), len(want))

	p2 := startUpProcess(t, bin, dataDir, kubeconfig)
	list, err := p2.client.CoreV1().ConfigMaps("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("listing after restart: %v", err)
	}
	got := map[string]corev1.ConfigMap{}
	for _, cm := range list.Items {
		got[cm.Name] = cm
	}
	lost := 0
	for name, w := range want {
		cm, ok := got[name]
		if !ok {
			t.Errorf("acknowledged ConfigMap %s is gone after the crash", name)
			lost++
			continue
		}
		n, err := strconv.Atoi(cm.Data["n"])
		if err != nil || n < w.n || cm.UID != w.uid {
			t.Errorf("ConfigMap %s after the crash: uid %s n=%q, acknowledged uid %s n=%d", name, cm.UID, cm.Data["n"], w.uid, w.n)
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged ConfigMaps lost or rolled back", lost, len(want))
	}

	// A graceful stop of the second process.
	if err := syscall.Kill(p2.cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p2.done:
		if p2.err != nil {
			t.Errorf("clusterkit up exited with %v after SIGTERM\n%s", p2.err, p2.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("clusterkit up did not stop within 30s of SIGTERM\n%s", p2.out.String())
	}
}
