package release

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

var samplePackages = Packages{
	Version:       "v1.2.3",
	PipeImage:     "sha256:" + strings.Repeat("a", 64),
	CABundle:      strings.Repeat("b", 64),
	GitLabInclude: Integrity([]byte("include")),
	Orb:           strings.Repeat("c", 64),
}

func TestIntegrity(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("include"))
	if got, want := Integrity([]byte("include")), "sha256-"+base64.StdEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("Integrity = %s, want %s", got, want)
	}
}

func TestPackagesRoundTrip(t *testing.T) {
	t.Parallel()
	got, err := ParsePackages(samplePackages.Format())
	if err != nil {
		t.Fatal(err)
	}
	if d := samplePackages.Diff(got); len(d) > 0 {
		t.Errorf("after a round trip: %v", d)
	}
	other := got
	other.PipeImage = "sha256:" + strings.Repeat("d", 64)
	if d := samplePackages.Diff(other); len(d) != 1 || !strings.HasPrefix(d[0], "pipe-image: ") {
		t.Errorf("Diff = %q, want the pipe image alone", d)
	}
}

func TestParsePackagesRefuses(t *testing.T) {
	t.Parallel()
	good := string(samplePackages.Format())
	for name, text := range map[string]string{
		"a missing line":     strings.Replace(good, "orb "+samplePackages.Orb+"\n", "", 1),
		"a line twice":       good + "orb " + samplePackages.Orb + "\n",
		"an unknown key":     good + "colour blue\n",
		"a hex integrity":    strings.Replace(good, samplePackages.GitLabInclude, "sha256-"+strings.Repeat("0", 64), 1),
		"a tag for a digest": strings.Replace(good, samplePackages.PipeImage, "1.2.3", 1),
	} {
		if _, err := ParsePackages([]byte(text)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPin(t *testing.T) {
	t.Parallel()
	unpinned := "- pipe: docker://ghcr.io/hf-oidc/hf-oidc-pipe:1\n" +
		"include:\n" +
		"  - remote: https://raw.githubusercontent.com/hf-oidc/hf-oidc/v1/gitlab/templates/hf-oidc.yml\n" +
		"    integrity: '" + NoIntegrity + "'\n" +
		"    inputs: { resources: acme/model }\n" +
		"  - component: $CI_SERVER_FQDN/hf-oidc/hf-oidc-gitlab/hf-oidc@1\n" +
		"orbs:\n  hf-oidc: hf-oidc/hf-oidc@1\n" +
		"- uses: hf-oidc/hf-oidc@v1\n"
	pinned := "- pipe: docker://ghcr.io/hf-oidc/hf-oidc-pipe:1.2.3@" + samplePackages.PipeImage + "\n" +
		"include:\n" +
		"  - remote: https://raw.githubusercontent.com/hf-oidc/hf-oidc/v1.2.3/gitlab/templates/hf-oidc.yml\n" +
		"    integrity: '" + samplePackages.GitLabInclude + "'\n" +
		"    inputs: { resources: acme/model }\n" +
		"  - component: $CI_SERVER_FQDN/hf-oidc/hf-oidc-gitlab/hf-oidc@1.2.3\n" +
		"orbs:\n  hf-oidc: hf-oidc/hf-oidc@1.2.3\n" +
		"- uses: hf-oidc/hf-oidc@v1\n"
	if got := Pin(unpinned, &samplePackages); got != pinned {
		t.Errorf("pinning:\n%s\nwant:\n%s", got, pinned)
	}
	if got := Pin(pinned, &samplePackages); got != pinned {
		t.Errorf("pinning again:\n%s\nwant it unchanged", got)
	}
	if got := Pin(pinned, nil); got != unpinned {
		t.Errorf("with no release:\n%s\nwant:\n%s", got, unpinned)
	}
	next := samplePackages
	next.Version, next.PipeImage = "v1.3.0-rc.1", "sha256:"+strings.Repeat("e", 64)
	got := Pin(pinned, &next)
	for _, want := range []string{"hf-oidc-pipe:1.3.0-rc.1@" + next.PipeImage + "\n", "/v1.3.0-rc.1/gitlab/", "hf-oidc/hf-oidc@dev:v1.3.0-rc.1\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("the next release: %q lacks %q", got, want)
		}
	}
	if strings.Count(got, "integrity:") != 1 {
		t.Errorf("the next release: %d integrity lines", strings.Count(got, "integrity:"))
	}
}
