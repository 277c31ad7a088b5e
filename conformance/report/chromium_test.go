package report_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/clusterkit/clusterkit/conformance/report"
)

// chromium returns the path of a Chromium binary, or skips the test saying how to install one.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("skipped: no chromium on PATH to open report.html in; install it with `apt-get install -y chromium` (scripts/install-chromium.sh, run by make prerequisites)")
	return ""
}

// headless runs chromium headless on url with args and returns its standard output.
func headless(t *testing.T, bin, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	all := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir=" + t.TempDir()}, args...)
	cmd := exec.CommandContext(ctx, bin, append(all, url)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(all, " "), err, stderr.String())
	}
	return out
}

// TestHTMLInChromium opens report.html in headless Chromium: the DOM its script leaves holds
// every spec ID and outcome, the outcome filter given in the URL hides the other outcomes,
// and a screenshot of the page is a non-blank 1200×900 PNG.
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	if err := report.WriteDir(dir, synthetic(), results()); err != nil {
		t.Fatal(err)
	}
	page := "file://" + filepath.Join(dir, report.HTMLFile)

	dom := string(headless(t, bin, page, "--dump-dom"))
	for _, want := range []string{"store.watch.resume", "store.update.cas", "scheduler.fit.evil", "kubelet.probe.needs-root",
		`data-outcome="failed"`, `data-outcome="skipped"`, `data-outcome="passed"`,
		"5 of 5 specs shown", // written by the page's script
		"&lt;script&gt;alert"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered DOM lacks %q", want)
		}
	}
	if strings.Contains(dom, "proxy.filtered.out") {
		t.Errorf("the rendered DOM lists a spec the run did not select")
	}

	filtered := string(headless(t, bin, page+"?outcome=failed&q=stale", "--dump-dom"))
	if !strings.Contains(filtered, "1 of 5 specs shown (outcome: failed) matching") {
		t.Errorf("filtering by ?outcome=failed&q=stale: the page does not say 1 of 5 specs shown:\n%s", shownLine(filtered))
	}
	spec := regexp.MustCompile(`<div class="spec" data-outcome="(\w+)" data-id="([a-z.-]+)"[^>]*?( hidden="")?>`)
	visible := 0
	for _, m := range spec.FindAllStringSubmatch(filtered, -1) {
		if m[3] == "" {
			visible++
			if m[1] != "failed" || m[2] != "store.update.cas" {
				t.Errorf("filtering by failed and \"stale\" leaves %s (%s) visible", m[2], m[1])
			}
		}
	}
	if visible != 1 {
		t.Errorf("%d specs visible after filtering, want 1", visible)
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	headless(t, bin, page, "--screenshot="+shot, "--window-size=1200,900", "--hide-scrollbars")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("screenshot is %dx%d, want 1200x900", b.Dx(), b.Dy())
	}
	colours := map[uint32]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 7 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 7 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|b>>8] = true
		}
	}
	if len(colours) < 8 {
		t.Errorf("the screenshot has %d colours: a blank page", len(colours))
	}
	if keep := os.Getenv("REPORT_SCREENSHOT"); keep != "" {
		data, _ := os.ReadFile(shot)
		if err := os.WriteFile(keep, data, 0o644); err != nil {
			t.Error(err)
		}
	}
}

func shownLine(dom string) string {
	if i := strings.Index(dom, `id="shown"`); i >= 0 {
		return dom[i:min(len(dom), i+200)]
	}
	return "(no #shown element)"
}
