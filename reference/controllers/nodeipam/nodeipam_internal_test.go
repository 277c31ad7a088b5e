package nodeipam

import "testing"

func TestAllocatorBlocks(t *testing.T) {
	a, err := NewAllocator("10.244.0.0/16", 24)
	if err != nil {
		t.Fatal(err)
	}
	if a.Size() != 256 {
		t.Errorf("Size = %d, want 256", a.Size())
	}
	for i, want := range map[int]string{0: "10.244.0.0/24", 1: "10.244.1.0/24", 255: "10.244.255.0/24"} {
		if got := a.Block(i).String(); got != want {
			t.Errorf("Block(%d) = %s, want %s", i, got, want)
		}
	}
	if !a.Contains("10.244.7.0/24") || a.Contains("10.245.0.0/24") || a.Contains("10.244.7.0/25") {
		t.Error("Contains is wrong")
	}
	if _, err := NewAllocator("10.244.0.0/16", 8); err == nil {
		t.Error("a mask size shorter than the cluster CIDR must be refused")
	}
}
