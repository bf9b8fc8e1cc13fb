package release

import (
	"regexp"
	"strings"
)

// PinnedDocs are the files whose quick starts name a published package,
// rewritten by Pin at release time.
var PinnedDocs = []string{"README.md", "bitbucket/README.md", "circleci/README.md", "gitlab/README.md"}

var (
	pipeRef      = regexp.MustCompile(`docker://ghcr\.io/hf-oidc/hf-oidc-pipe(:[0-9A-Za-z._-]+)?(@sha256:[0-9a-f]{64})?`)
	includeRef   = regexp.MustCompile(`https://raw\.githubusercontent\.com/hf-oidc/hf-oidc/[^/\s]+/gitlab/templates/hf-oidc\.yml`)
	componentRef = regexp.MustCompile(`\bhf-oidc-gitlab/hf-oidc@[0-9]+(\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?)?\b`)
	orbRef       = regexp.MustCompile(`\bhf-oidc/hf-oidc@([0-9]+(\.[0-9]+\.[0-9]+)?|dev:v[0-9A-Za-z.-]+)`)
	// integrityLine is an include's integrity: line, which Pin keeps
	// right under the include it belongs to.
	integrityLine = regexp.MustCompile(`^\s*integrity:\s*'?sha256-[^'\s]*'?\s*$`)
)

// NoIntegrity stands for the GitLab include's integrity until there is a
// release to compute it for.
const NoIntegrity = "sha256-PLACEHOLDER-until-the-first-release"

// Pin rewrites the references text makes to the published packages so that
// each names exactly what release p published: the pipe's image by tag and
// digest (a tag can be moved; the digest cannot), the GitLab include at the
// release tag with its integrity, the GitLab component and the orb at
// their exact version. With no release (p nil), they name the moving major
// version 1, and the integrity is NoIntegrity: there is nothing yet to pin
// to.
func Pin(text string, p *Packages) string {
	pipe, include, orb, component, integrity := "docker://ghcr.io/hf-oidc/hf-oidc-pipe:1", "https://raw.githubusercontent.com/hf-oidc/hf-oidc/v1/gitlab/templates/hf-oidc.yml", "hf-oidc/hf-oidc@1", "hf-oidc-gitlab/hf-oidc@1", NoIntegrity
	if p != nil {
		pipe = "docker://" + ImageRepository + ":" + p.Version[1:] + "@" + p.PipeImage
		include = "https://raw.githubusercontent.com/hf-oidc/hf-oidc/" + p.Version + "/" + GitLabInclude
		orb = "hf-oidc/hf-oidc@" + OrbVersion(p.Version)
		component = "hf-oidc-gitlab/hf-oidc@" + p.Version[1:]
		integrity = p.GitLabInclude
	}
	text = pipeRef.ReplaceAllLiteralString(text, pipe)
	text = orbRef.ReplaceAllLiteralString(text, orb)
	text = componentRef.ReplaceAllLiteralString(text, component)
	lines := strings.SplitAfter(text, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		loc := includeRef.FindStringIndex(l)
		if loc == nil {
			out = append(out, l)
			continue
		}
		out = append(out, l[:loc[0]]+include+l[loc[1]:])
		if i+1 < len(lines) && integrityLine.MatchString(lines[i+1]) {
			i++ // written again below
		}
		// The integrity key sits beside remote:, under "- " when the
		// include is a list item.
		indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
		if rest := strings.TrimLeft(l, " \t"); strings.HasPrefix(rest, "- ") {
			indent += "  "
		}
		out = append(out, indent+"integrity: '"+integrity+"'\n")
	}
	return strings.Join(out, "")
}

// OrbVersion is the orb version release v is published as: the version
// without its "v", or for a prerelease, which the orb registry's semantic
// versions cannot hold, the dev version "dev:v1.2.3-rc.1" (kept 90 days).
func OrbVersion(v string) string {
	if strings.Contains(v, "-") {
		return "dev:" + v
	}
	return v[1:]
}
