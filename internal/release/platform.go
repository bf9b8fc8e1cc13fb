package release

import (
	"fmt"
	"regexp"
	"strings"
)

// A Platform is one GOOS/GOARCH a release is built for.
type Platform struct{ OS, Arch string }

func (p Platform) String() string { return p.OS + "/" + p.Arch }

// Platforms is every platform a release holds: the runners GitHub, GitLab,
// CircleCI and Bitbucket offer, and self-hosted ones.
var Platforms = []Platform{
	{"linux", "amd64"}, {"linux", "arm64"},
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// ParsePlatforms reads a comma-separated list of os/arch pairs, each one of
// Platforms. "all" or "" means Platforms.
func ParsePlatforms(s string) ([]Platform, error) {
	if s == "" || s == "all" {
		return Platforms, nil
	}
	var ps []Platform
	seen := map[Platform]bool{}
	for _, f := range strings.Split(s, ",") {
		os, arch, _ := strings.Cut(strings.TrimSpace(f), "/")
		p := Platform{os, arch}
		if !supported(p) {
			return nil, fmt.Errorf("platform %q: expected one of %s", f, platformList())
		}
		if !seen[p] {
			seen[p] = true
			ps = append(ps, p)
		}
	}
	return ps, nil
}

func supported(p Platform) bool {
	for _, q := range Platforms {
		if p == q {
			return true
		}
	}
	return false
}

func platformList() string {
	names := make([]string, len(Platforms))
	for i, p := range Platforms {
		names[i] = p.String()
	}
	return strings.Join(names, ", ")
}

// BinaryName is the executable's name inside the archive.
func BinaryName(p Platform) string {
	if p.OS == "windows" {
		return "hf-oidc.exe"
	}
	return "hf-oidc"
}

// AssetName is the archive's name on the release page:
// hf-oidc_<version>_<os>_<arch>.tar.gz, or .zip for Windows.
func AssetName(version string, p Platform) string {
	ext := ".tar.gz"
	if p.OS == "windows" {
		ext = ".zip"
	}
	return "hf-oidc_" + version + "_" + p.OS + "_" + p.Arch + ext
}

// versionPattern is a semantic version with a leading v, as release tags
// are named.
var versionPattern = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$`)

// CheckVersion reports whether v names a release: v1.2.3 or v1.2.3-rc.1.
func CheckVersion(v string) error {
	if !versionPattern.MatchString(v) {
		return fmt.Errorf("version %q: expected a release tag like v1.2.3 or v1.2.3-rc.1", v)
	}
	return nil
}
