package runner_test

import (
	"bytes"
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/clusterkit/clusterkit/interfaces"
	"github.com/clusterkit/clusterkit/reference/controllers/apitest"
	"github.com/clusterkit/clusterkit/reference/controllers/runner"
)

// recording records one Event about a ConfigMap per reconcile.
type recording struct{ ctx runner.Context }

func (r recording) Name() string { return "recording" }

func (r recording) Reconcile(_ context.Context, key string) (interfaces.ReconcileResult, error) {
	ns, name := runner.SplitKey(key)
	r.ctx.Eventf(&corev1.ObjectReference{APIVersion: "v1", Kind: "ConfigMap", Namespace: ns, Name: name, UID: "u1"},
		corev1.EventTypeNormal, "Touched", "touched %s", name)
	return interfaces.ReconcileResult{}, nil
}

// recorderGoroutines counts the goroutines of client-go's event recorder and its watch broadcaster.
func recorderGoroutines() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if s := string(g); strings.Contains(s, "k8s.io/client-go/tools/record.") || strings.Contains(s, "k8s.io/apimachinery/pkg/watch.(*Broadcaster)") {
			n++
		}
	}
	return n
}

// TestControllerEventsAreRecordedAndTheRecorderStops: a controller's Eventf reaches the API
// as a core/v1 Event with the configured source, and the recorder's goroutines end with Run.
func TestControllerEventsAreRecordedAndTheRecorderStops(t *testing.T) {
	cfg := apitest.Start(t)
	before := recorderGoroutines()
	r, err := runner.New(runner.Config{RESTConfig: cfg, EventSource: func(n string) string { return n + "-controller" }},
		runner.Named{Name: "recording", Factory: func(c runner.Context) (interfaces.Controller, error) {
			c.Queue.Add("default/cm")
			return recording{ctx: c}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	client := kubernetes.NewForConfigOrDie(cfg)
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
		if err == nil && len(list.Items) > 0 {
			ev := list.Items[0]
			if ev.Reason != "Touched" || ev.Message != "touched cm" || ev.Source.Component != "recording-controller" || ev.InvolvedObject.Name != "cm" {
				t.Fatalf("event %+v", ev)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no Event recorded (last error %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for recorderGoroutines() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d event recorder goroutines still run after Run returned (%d before)", recorderGoroutines(), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
