package release

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
)

// GitLabInclude is the file GitLab users include with
// `include: remote: …/<tag>/gitlab/templates/hf-oidc.yml`.
const GitLabInclude = "gitlab/templates/hf-oidc.yml"

// Integrity is the value of GitLab's `include: integrity:` (GitLab 17.9+)
// for a file: Subresource Integrity's form, "sha256-" and the base64 of
// the SHA-256 (not hex).
func Integrity(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// Packages is what a release publishes besides its archives, as the
// release dry run computes it and .release/packages.txt records it at
// release time: the release workflow fails unless what it is about to
// publish is this, and the READMEs pin these values.
type Packages struct {
	Version       string // v1.2.3
	PipeImage     string // the image index's digest, sha256:…
	CABundle      string // the SHA-256 (hex) of the image's CA bundle
	GitLabInclude string // Integrity of GitLabInclude at the tag
	Orb           string // the SHA-256 (hex) of the packed orb
}

var packagesFields = []struct {
	key     string
	field   func(*Packages) *string
	pattern *regexp.Regexp
}{
	{"version", func(p *Packages) *string { return &p.Version }, regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$`)},
	{"pipe-image", func(p *Packages) *string { return &p.PipeImage }, regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)},
	{"ca-bundle", func(p *Packages) *string { return &p.CABundle }, regexp.MustCompile(`^[0-9a-f]{64}$`)},
	{"gitlab-include", func(p *Packages) *string { return &p.GitLabInclude }, regexp.MustCompile(`^sha256-[A-Za-z0-9+/]{43}=$`)},
	{"orb", func(p *Packages) *string { return &p.Orb }, regexp.MustCompile(`^[0-9a-f]{64}$`)},
}

// Format is the file .release/packages.txt: one "key value" line each.
func (p Packages) Format() []byte {
	var b bytes.Buffer
	for _, f := range packagesFields {
		fmt.Fprintf(&b, "%s %s\n", f.key, *f.field(&p))
	}
	return b.Bytes()
}

// ParsePackages reads what Format wrote, and fails on anything else.
func ParsePackages(data []byte) (Packages, error) {
	var p Packages
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		key, value, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		i := -1
		for j, f := range packagesFields {
			if f.key == key {
				i = j
			}
		}
		switch {
		case i < 0:
			return Packages{}, fmt.Errorf("packages line %d: unknown key %q", n, key)
		case seen[key]:
			return Packages{}, fmt.Errorf("packages line %d: %s appears twice", n, key)
		case !packagesFields[i].pattern.MatchString(value):
			return Packages{}, fmt.Errorf("packages line %d: %s is %q, expected %s", n, key, value, packagesFields[i].pattern)
		}
		seen[key] = true
		*packagesFields[i].field(&p) = value
	}
	for _, f := range packagesFields {
		if !seen[f.key] {
			return Packages{}, fmt.Errorf("packages: no %s line", f.key)
		}
	}
	return p, nil
}

// Diff lists how p and q differ, one line per field, p's value first.
func (p Packages) Diff(q Packages) []string {
	var out []string
	for _, f := range packagesFields {
		if a, b := *f.field(&p), *f.field(&q); a != b {
			out = append(out, fmt.Sprintf("%s: %s, now %s", f.key, a, b))
		}
	}
	return out
}
