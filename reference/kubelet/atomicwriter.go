package kubelet

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// volumeFile is one file of a Secret, ConfigMap, downward API or projected volume.
type volumeFile struct {
	data []byte
	mode os.FileMode
}

// The names of the atomic writer's bookkeeping entries, as upstream's AtomicWriter.
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// writeAtomically makes dir hold exactly payload (paths relative to dir) so that a reader
// never sees a half-written update, as the kubelet's AtomicWriter: the files are written into
// a fresh hidden directory ..<timestamp>, the symlink ..data is swapped to it with one rename,
// each top-level entry is a symlink through ..data, and the previous directory is removed. It
// reports whether anything changed.
func writeAtomically(dir string, payload map[string]volumeFile, now time.Time) (bool, error) {
	for p := range payload {
		if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "..") || strings.Contains(p, "/../") || filepath.Clean(p) != p {
			return false, fmt.Errorf("invalid path %q in the volume's payload", p)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	old, _ := os.Readlink(filepath.Join(dir, dataDirName))
	if old != "" && sameContent(filepath.Join(dir, old), payload) {
		return false, nil
	}
	ts, err := os.MkdirTemp(dir, now.UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return false, err
	}
	if err := os.Chmod(ts, 0o755); err != nil {
		return false, err
	}
	for p, f := range payload {
		full := filepath.Join(ts, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return false, err
		}
		if err := os.WriteFile(full, f.data, f.mode); err != nil {
			return false, err
		}
		// WriteFile's mode is masked by the umask.
		if err := os.Chmod(full, f.mode); err != nil {
			return false, err
		}
	}
	tmp := filepath.Join(dir, newDataDirName)
	_ = os.Remove(tmp)
	if err := os.Symlink(filepath.Base(ts), tmp); err != nil {
		return false, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, dataDirName)); err != nil {
		return false, err
	}
	// The user-visible top-level entries point through ..data.
	top := map[string]bool{}
	for p := range payload {
		top[strings.SplitN(p, "/", 2)[0]] = true
	}
	for name := range top {
		link := filepath.Join(dir, name)
		if target, err := os.Readlink(link); err == nil && target == filepath.Join(dataDirName, name) {
			continue
		}
		if err := os.Symlink(filepath.Join(dataDirName, name), link); err != nil {
			return false, err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		n := e.Name()
		switch {
		case n == dataDirName || n == filepath.Base(ts):
		case strings.HasPrefix(n, ".."):
			_ = os.RemoveAll(filepath.Join(dir, n))
		case !top[n]:
			_ = os.Remove(filepath.Join(dir, n))
		}
	}
	return true, nil
}

// sameContent reports whether dir holds exactly payload, modes included.
func sameContent(dir string, payload map[string]volumeFile) bool {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		f, ok := payload[rel]
		if !ok {
			return fmt.Errorf("extra")
		}
		info, err := d.Info()
		if err != nil || info.Mode().Perm() != f.mode.Perm() {
			return fmt.Errorf("mode")
		}
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(b, f.data) {
			return fmt.Errorf("data")
		}
		n++
		return nil
	})
	return err == nil && n == len(payload)
}

// writtenVolume is what this kubelet last wrote into (or found in) a volume's directory: the
// payload's digest and the directory ..data pointed to then.
type writtenVolume struct {
	sum    [sha256.Size]byte
	target string
}

// writeVolume is writeAtomically for a volume re-synced again and again: when payload is what
// last records (the same digest) and ..data still points where it did, nothing is read or
// written; otherwise writeAtomically compares and writes as on a first sync (a restarted
// kubelet starts with an empty record), and last is updated. It reports whether anything
// changed.
func writeVolume(dir string, payload map[string]volumeFile, now time.Time, last *writtenVolume) (bool, error) {
	sum := payloadSum(payload)
	if last.target != "" && last.sum == sum {
		if target, err := os.Readlink(filepath.Join(dir, dataDirName)); err == nil && target == last.target {
			return false, nil
		}
	}
	changed, err := writeAtomically(dir, payload, now)
	if err != nil {
		*last = writtenVolume{}
		return false, err
	}
	target, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil {
		*last = writtenVolume{}
		return changed, nil
	}
	*last = writtenVolume{sum: sum, target: target}
	return changed, nil
}

// payloadSum is a digest of payload: every path, mode and content, in path order.
func payloadSum(payload map[string]volumeFile) [sha256.Size]byte {
	paths := make([]string, 0, len(payload))
	for p := range payload {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	var n [8]byte
	for _, p := range paths {
		f := payload[p]
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
		binary.BigEndian.PutUint64(n[:], uint64(f.mode))
		h.Write(n[:])
		binary.BigEndian.PutUint64(n[:], uint64(len(f.data)))
		h.Write(n[:])
		h.Write(f.data)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
