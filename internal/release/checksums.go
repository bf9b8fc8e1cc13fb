package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// A Checksum is one line of a checksums file: an asset and its SHA-256.
type Checksum struct {
	Digest string // 64 lowercase hex digits
	Name   string // the asset's name
}

// Checksums is the content of checksums.txt, in sha256sum's format, so
// that `sha256sum -c checksums.txt` checks a folder of downloaded assets.
type Checksums []Checksum

// Sum returns the checksum of an asset.
func Sum(name string, data []byte) Checksum {
	d := sha256.Sum256(data)
	return Checksum{Digest: hex.EncodeToString(d[:]), Name: name}
}

// Format returns the checksums sorted by name, one "<digest>  <name>" line
// each.
func (c Checksums) Format() []byte {
	sorted := append(Checksums(nil), c...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var b bytes.Buffer
	for _, s := range sorted {
		fmt.Fprintf(&b, "%s  %s\n", s.Digest, s.Name)
	}
	return b.Bytes()
}

// Lookup returns the digest committed for name.
func (c Checksums) Lookup(name string) (string, bool) {
	for _, s := range c {
		if s.Name == name {
			return s.Digest, true
		}
	}
	return "", false
}

var (
	digestPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	// assetPattern is every name AssetName can return, and nothing that a
	// shell or a URL would read differently.
	assetPattern = regexp.MustCompile(`^hf-oidc_v[0-9A-Za-z.+-]+_[a-z0-9]+_[a-z0-9]+\.(tar\.gz|zip)$`)
)

// ParseChecksums reads a checksums file as Format writes it. It is strict,
// because the action trusts this file alone: any line it does not
// understand is an error, not skipped. A trailing carriage return is
// forgiven, for checkouts with Windows line endings.
func ParseChecksums(data []byte) (Checksums, error) {
	var c Checksums
	seen := map[string]bool{}
	text := strings.TrimSuffix(string(data), "\n")
	if text == "" {
		return nil, fmt.Errorf("reading checksums: the file is empty")
	}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		digest, name, ok := strings.Cut(line, "  ")
		switch {
		case !ok:
			return nil, fmt.Errorf("reading checksums: line %d: expected \"<sha256>  <asset>\" (two spaces)", i+1)
		case !digestPattern.MatchString(digest):
			return nil, fmt.Errorf("reading checksums: line %d: %s is not a SHA-256 in lowercase hex", i+1, safetext.Quote(digest, 70))
		case !assetPattern.MatchString(name):
			return nil, fmt.Errorf("reading checksums: line %d: %s is not an hf-oidc release asset name", i+1, safetext.Quote(name, 70))
		case seen[name]:
			return nil, fmt.Errorf("reading checksums: line %d: %s is listed twice", i+1, name)
		}
		seen[name] = true
		c = append(c, Checksum{Digest: digest, Name: name})
	}
	return c, nil
}

// Diff lists how got differs from want, one line per asset; none when they
// hold the same assets with the same digests.
func Diff(want, got Checksums) []string {
	var lines []string
	for _, w := range want {
		g, ok := got.Lookup(w.Name)
		switch {
		case !ok:
			lines = append(lines, fmt.Sprintf("%s: committed, but not built", w.Name))
		case g != w.Digest:
			lines = append(lines, fmt.Sprintf("%s: committed sha256 %s, built %s", w.Name, w.Digest, g))
		}
	}
	for _, g := range got {
		if _, ok := want.Lookup(g.Name); !ok {
			lines = append(lines, fmt.Sprintf("%s: built, but not committed", g.Name))
		}
	}
	return lines
}
