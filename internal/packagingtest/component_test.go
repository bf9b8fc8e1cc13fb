package packagingtest

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/testkit"
)

// gitlab/ is the root of the GitLab component project that the release
// workflow mirrors and tags; published releases of it are the CI/CD Catalog
// versions. Its own pipeline (gitlab/.gitlab-ci.yml) runs here in
// gitlab-ci-local, as GitLab runs it in the mirror: from a repository whose
// remote is the project's, including the component at its own commit with
// include: component, which gitlab-ci-local resolves from the working tree
// when project and commit are the repository's own.

// componentProject is the GitLab project path the tests give the mirror.
const componentProject = "hf-oidc/hf-oidc-gitlab"

// componentIDToken mints, with the sandbox's GitLab issuer, the ID token
// GitLab gives a job of the mirror's pipeline at commit sha for an
// id_tokens entry with aud, with overrides on top.
func componentIDToken(t *testing.T, sb *sandbox.Sandbox, overrides map[string]any) func(sha, aud string) string {
	return func(sha, aud string) string {
		t.Helper()
		claims := map[string]any{"aud": aud, "project_path": componentProject, "sha": sha}
		maps.Copy(claims, overrides)
		tok, err := sb.MintGitLabIDToken(claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

// releaseRan finds gitlab-ci-local's line for a release job that ran and
// passed.
var releaseRan = regexp.MustCompile(`(?m)^ *PASS +release *$`)

// TestGitLabComponentPipeline runs the component project's whole pipeline:
// the component job installs hf-oidc through the component (the download
// checked against the SHA-256 the template carries, as on GitLab's runners,
// which have no hf-oidc) and checks the job's ID token with hf-oidc claims;
// a semantic-version tag then runs the release job, after it.
func TestGitLabComponentPipeline(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		tag      string         // CI_COMMIT_TAG; empty for a branch pipeline
		claims   map[string]any // overrides of the ID token's claims
		fail     bool           // the component job fails
		release  bool           // the release job runs
		want     []string
		dontWant []string
	}{
		"a push": {
			want:     []string{"All 2 fields match"},
			dontWant: []string{"Releasing"},
		},
		"a version tag": {tag: "1.2.3", release: true,
			want: []string{"All 2 fields match", "Releasing 1.2.3 of " + componentProject + " to the CI/CD Catalog"}},
		"a pre-release tag": {tag: "1.2.3-rc.1", release: true,
			want: []string{"Releasing 1.2.3-rc.1 of "}},
		// The Catalog refuses versions that are not semantic: GitHub's
		// v1.2.3 must reach GitLab as 1.2.3, and any other tag makes no
		// release.
		"a v tag":                  {tag: "v1.2.3", dontWant: []string{"Releasing"}},
		"a tag that is no version": {tag: "latest", dontWant: []string{"Releasing"}},
		// As if the component declared another audience.
		"an ID token for another audience": {tag: "1.2.3", claims: map[string]any{"aud": "https://gitlab.com"}, fail: true,
			want: []string{`for audience "https://gitlab.com", not "https://huggingface.co"`}, dontWant: []string{"Releasing"}},
		"an ID token of another project": {tag: "1.2.3", claims: map[string]any{"project_path": "acme/training"}, fail: true,
			want: []string{"project_path  MISMATCH  Hub: " + componentProject + "  token: acme/training"}, dontWant: []string{"Releasing"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sb := startSandbox(t, (*sandbox.Sandbox).TrustGitLab)
			srv := startReleaseServer(t, testArchive)
			j := gitlabJob{
				project:  true,
				template: renderedTemplate(t, testRelease),
				mint:     componentIDToken(t, sb, c.claims),
				path:     systemPath(),
				env:      []string{"HF_OIDC_RELEASE_BASE_URL=" + srv.URL},
			}
			if c.tag != "" {
				j.args = []string{"--variable", "CI_COMMIT_TAG=" + c.tag}
			}
			r := runGitLab(t, sb, j)
			if got := r.code != 0; got != c.fail {
				t.Fatalf("gitlab-ci-local exited %d, want failure %v:\n%s", r.code, c.fail, r.out)
			}
			assertContains(t, "the pipeline's log", r.out, append(c.want,
				"hf-oidc: installed "+testVersion+" from hf-oidc_"+testVersion+"_", "its SHA-256 checked against the one this template carries",
				"> hf-oidc "+testVersion)...)
			if !c.fail {
				assertContains(t, "the pipeline's log", r.out, "PASS  component")
			}
			for _, w := range c.dontWant {
				if strings.Contains(r.out, w) {
					t.Errorf("the pipeline's log has %q:\n%s", w, r.out)
				}
			}
			if ran := releaseRan.MatchString(r.out); ran != c.release {
				t.Errorf("the release job ran: %v, want %v:\n%s", ran, c.release, r.out)
			}
			if n := sb.Stats().Exchanges; n != 0 {
				t.Errorf("%d exchanges were sent: the component project's pipeline needs no Hub", n)
			}
		})
	}
}

// TestGitLabComponentProjectRoot fails when gitlab/ stops being a component
// project GitLab can publish: a README.md at its root, its component as a
// single file in templates/ (one template per component), a spec: header
// holding only what every GitLab with components accepts, every input
// described (the Catalog shows the descriptions as the component's inputs
// table), and a pipeline that tests the component at its own commit and
// creates releases for semantic-version tags only.
func TestGitLabComponentProjectRoot(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(root, "gitlab")
	if readme := testkit.ReadText(t, filepath.Join(dir, "README.md")); !strings.Contains(readme, "component: $CI_SERVER_FQDN/") {
		t.Errorf("gitlab/README.md shows no include: component: $CI_SERVER_FQDN/…")
	}

	// The templates/ directory holds the components, each either NAME.yml
	// or NAME/template.yml: this project has one, hf-oidc.
	entries, err := os.ReadDir(filepath.Join(dir, "templates"))
	if err != nil {
		t.Fatal(err)
	}
	var components []string
	for _, e := range entries {
		switch {
		case e.IsDir():
			if _, err := os.Stat(filepath.Join(dir, "templates", e.Name(), "template.yml")); err == nil {
				components = append(components, e.Name())
			}
		case strings.HasSuffix(e.Name(), ".yml"):
			components = append(components, strings.TrimSuffix(e.Name(), ".yml"))
		}
	}
	if !slices.Equal(components, []string{"hf-oidc"}) {
		t.Errorf("gitlab/templates/ holds the components %v, want [hf-oidc] (templates/hf-oidc.yml)", components)
	}

	text := testkit.ReadText(t, filepath.Join(root, gitlabFile))
	docs := testkit.YAMLDocs(t, text)
	if len(docs) != 2 {
		t.Fatalf("%s has %d YAML documents, want 2: the spec: header, ---, then the jobs", gitlabFile, len(docs))
	}
	var header map[string]map[string]any
	remarshal(t, docs[0], &header)
	if got := sortedKeys(header); !slices.Equal(got, []string{"spec"}) {
		t.Errorf("the header holds %v, want spec alone", got)
	}
	// spec:description came in GitLab 18.10; older GitLab refuses the whole
	// include for it ("spec config contains unknown keys").
	if got := sortedKeys(header["spec"]); !slices.Equal(got, []string{"inputs"}) {
		t.Errorf("spec: holds %v, want inputs alone", got)
	}
	var spec struct {
		Spec struct {
			Inputs map[string]struct {
				Description string `json:"description"`
			} `json:"inputs"`
		} `json:"spec"`
	}
	remarshal(t, docs[0], &spec)
	if len(spec.Spec.Inputs) == 0 {
		t.Error("spec: declares no inputs")
	}
	for name, in := range spec.Spec.Inputs {
		if strings.TrimSpace(in.Description) == "" {
			t.Errorf("input %s has no description: the Catalog's inputs table would show it blank", name)
		}
	}

	var pipeline struct {
		Include []struct {
			Component string `json:"component"`
		} `json:"include"`
		Release struct {
			Stage string `json:"stage"`
			Rules []struct {
				If string `json:"if"`
			} `json:"rules"`
			Release struct {
				TagName string `json:"tag_name"`
			} `json:"release"`
		} `json:"release"`
	}
	remarshal(t, testkit.YAMLDocs(t, testkit.ReadText(t, filepath.Join(dir, ".gitlab-ci.yml")))[0], &pipeline)
	if len(pipeline.Include) != 1 || pipeline.Include[0].Component != "$CI_SERVER_FQDN/$CI_PROJECT_PATH/hf-oidc@$CI_COMMIT_SHA" {
		t.Errorf("gitlab/.gitlab-ci.yml includes %+v, want the component at its own commit", pipeline.Include)
	}
	if pipeline.Release.Release.TagName != "$CI_COMMIT_TAG" || pipeline.Release.Stage != "release" {
		t.Errorf("the release job is %+v, want the release keyword with tag_name $CI_COMMIT_TAG, in the last stage", pipeline.Release)
	}
	// The rule's pattern, checked with RE2 as GitLab does: semantic versions
	// only, which is what the Catalog publishes.
	if len(pipeline.Release.Rules) != 1 {
		t.Fatalf("the release job has rules %+v, want one", pipeline.Release.Rules)
	}
	m := regexp.MustCompile(`^\$CI_COMMIT_TAG =~ /(.*)/$`).FindStringSubmatch(pipeline.Release.Rules[0].If)
	if m == nil {
		t.Fatalf("the release job's rule is %q, want $CI_COMMIT_TAG =~ /…/", pipeline.Release.Rules[0].If)
	}
	re := regexp.MustCompile(m[1])
	for _, tag := range []string{"1.2.3", "0.1.0", "10.20.30", "1.2.3-rc.1", "1.0.0-alpha"} {
		if !re.MatchString(tag) {
			t.Errorf("the release job's rule refuses the version %s", tag)
		}
	}
	for _, tag := range []string{"v1.2.3", "1.2", "1", "01.2.3", "1.2.3 ", "main", "latest", ""} {
		if re.MatchString(tag) {
			t.Errorf("the release job's rule accepts %q, which the Catalog does not publish", tag)
		}
	}
}
