package kindlab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// imageCacheKeep is how many executables' composed images the cache keeps.
const imageCacheKeep = 3

// imageCacheDir is where composed lab images are kept between labs, by the executable's
// content: ~/.cache/clusterkit/lab-images.
func imageCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "clusterkit", "lab-images")
}

// composeImagesCached is composeImages with its archives kept in the image cache by the
// sha256 of bin: the next lab made by the same executable links them (kind's node image is
// made once, too) instead of composing again. Without a usable cache it composes in place.
func composeImagesCached(ctx context.Context, bin, cpPath, podPath string) error {
	root := imageCacheDir()
	sum, err := fileSHA256(bin)
	if root == "" || err != nil {
		return composeImages(ctx, bin, cpPath, podPath)
	}
	// The control plane's image alone, or with the pods' images (composeImages).
	name, dest := "control-plane.tar", cpPath
	if podPath != "" {
		name, dest = "all.tar", podPath
	}
	entry := filepath.Join(root, sum[:32])
	cached := filepath.Join(entry, name)
	if _, err := os.Stat(cached); err != nil {
		if err := os.MkdirAll(root, 0o755); err != nil {
			return composeImages(ctx, bin, cpPath, podPath)
		}
		tmp, err := os.MkdirTemp(root, ".compose-")
		if err != nil {
			return composeImages(ctx, bin, cpPath, podPath)
		}
		defer os.RemoveAll(tmp)
		out := filepath.Join(tmp, name)
		cpOut, podOut := out, ""
		if podPath != "" {
			cpOut, podOut = "", out
		}
		if err := composeImages(ctx, bin, cpOut, podOut); err != nil {
			return err
		}
		if err := os.MkdirAll(entry, 0o755); err != nil {
			return err
		}
		// Another lab may have put the same file meanwhile: either is fine.
		if err := os.Rename(out, cached); err != nil {
			if _, statErr := os.Stat(cached); statErr != nil {
				return err
			}
		}
		pruneImageCache(root, entry)
	}
	now := time.Now()
	_ = os.Chtimes(entry, now, now)
	return placeFile(dest, cached)
}

// pruneImageCache removes all but the imageCacheKeep most recently used entries (keeping
// keep).
func pruneImageCache(root, keep string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	type used struct {
		path string
		at   int64
	}
	var all []used
	for _, e := range entries {
		p := filepath.Join(root, e.Name())
		if !e.IsDir() || p == keep || e.Name()[0] == '.' {
			continue
		}
		if info, err := e.Info(); err == nil {
			all = append(all, used{p, info.ModTime().UnixNano()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at > all[j].at })
	for i, u := range all {
		if i >= imageCacheKeep-1 {
			_ = os.RemoveAll(u.path)
		}
	}
}

// fileSHA256 returns the hex sha256 of a file's content.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
