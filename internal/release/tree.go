package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// TreeFile is where the release records the digest of its tree, for the
// action pinned by commit SHA: the action's install script computes the
// same over its own files, and installs the release (not a build from
// source) when the two agree.
const TreeFile = "tree.sha256"

// TreeDigest is the digest of files (slash-separated paths relative to
// dir) as .github/action/install.sh computes it over the action's files:
// the SHA-256 of one "<sha256>  ./<path>" line per file, sorted bytewise
// by path, the format of sha256sum.
func TreeDigest(dir string, files []string) (string, error) {
	sorted := append([]string(nil), files...)
	// The script sorts the paths find prints, "./" and all, bytewise.
	sort.Slice(sorted, func(i, j int) bool { return "./"+sorted[i] < "./"+sorted[j] })
	var lines bytes.Buffer
	for _, f := range sorted {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&lines, "%s  ./%s\n", hex.EncodeToString(sum[:]), f)
	}
	sum := sha256.Sum256(lines.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// TrackedFiles lists the files git tracks in the current directory's
// repository but the release directory's: the files of the action a
// runner downloads at a commit of that tree.
func TrackedFiles(ctx context.Context, releaseDir string) ([]string, error) {
	out, err := git(ctx, "ls-files", "-z")
	if err != nil {
		return nil, err
	}
	var files []string
	prefix := filepath.ToSlash(filepath.Clean(releaseDir)) + "/"
	for _, f := range strings.Split(out, "\x00") {
		if f != "" && !strings.HasPrefix(f, prefix) {
			files = append(files, f)
		}
	}
	return files, nil
}
