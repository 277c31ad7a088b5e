package expectations

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestPods(t *testing.T) {
	c := clocktesting.NewFakePassiveClock(time.Unix(0, 0))
	e := New(c)
	if !e.Satisfied("ns/a") {
		t.Fatal("nothing expected: satisfied")
	}
	e.Expect("ns/a", 2, []string{"ns/p1"})
	e.CreationObserved("ns/a")
	e.DeletionObserved("ns/a", "ns/p1")
	if e.Satisfied("ns/a") {
		t.Fatal("one creation still expected: not satisfied")
	}
	if !e.Satisfied("ns/b") {
		t.Error("expectations are per key")
	}
	e.CreationObserved("ns/a")
	if !e.Satisfied("ns/a") {
		t.Fatal("every creation and deletion observed: satisfied")
	}
	e.Expect("ns/a", 0, []string{"ns/p2"})
	if e.Satisfied("ns/a") {
		t.Fatal("a deletion expected: not satisfied")
	}
	c.SetTime(c.Now().Add(Timeout + time.Second))
	if !e.Satisfied("ns/a") {
		t.Error("expectations older than Timeout no longer block")
	}
	e.Expect("ns/a", 1, nil)
	e.Forget("ns/a")
	if !e.Satisfied("ns/a") {
		t.Error("forgotten expectations block nothing")
	}
}
