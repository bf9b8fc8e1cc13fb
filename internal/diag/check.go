package diag

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/export"
	"github.com/hf-oidc/hf-oidc/internal/hubmatch"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/providerinfo"
	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/plugins"
	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// DefaultAudience is the audience the Hub requires of ID tokens.
const DefaultAudience = "https://huggingface.co"

const (
	// ExpiringWithin is how close to its expiry a token that cannot be
	// renewed is reported: an exchange takes a second or two, but the steps
	// after this one may want to exchange too.
	ExpiringWithin = 2 * time.Minute
	// SkewTolerance is how far in the future a token may have been issued
	// before the clocks are reported to disagree: issuers stamp whole
	// seconds and runners' clocks drift a little.
	SkewTolerance = 10 * time.Second
)

// Input is everything Analyze looks at. Only Now is required.
type Input struct {
	Token    *idtoken.Token // nil when none could be had
	TokenErr error          // why there is no token
	Provider string         // the provider in use ("env" for a pre-minted token); "" when none was detected
	CanMint  bool           // the provider mints a fresh token for every exchange
	Audience string         // the audience asked for (--audience); "" means DefaultAudience
	Endpoint string         // the Hub exchanged with (HF_ENDPOINT); "" means the Hub's own
	// Resources are the resources as given (flags or HF_OIDC_RESOURCES),
	// each possibly a comma- or newline-separated list.
	Resources []string
	Getenv    func(string) string          // nil: nothing is set
	ReadFile  func(string) ([]byte, error) // reads GitHub's event file; nil: os.ReadFile
	Now       time.Time
}

func (in *Input) getenv(k string) string {
	if in.Getenv == nil {
		return ""
	}
	return in.Getenv(k)
}

func (in *Input) audience() string {
	if in.Audience == "" {
		return DefaultAudience
	}
	return in.Audience
}

// Analyze lists every problem it can see in the job's environment, its
// resources and its ID token (or the lack of one), worst first.
func Analyze(in Input) []Finding {
	fs := append(CheckEnv(in), CheckToken(in)...)
	if in.Token == nil {
		fs = append(fs, NoToken(in))
	}
	slices.SortStableFunc(fs, func(a, b Finding) int { return int(b.Severity) - int(a.Severity) })
	return fs
}

// CheckEnv lists the problems of the job's environment and resources.
func CheckEnv(in Input) []Finding {
	var fs []Finding
	if v := in.getenv("HF_OIDC_RESOURCE"); v != "" {
		fs = append(fs, Finding{
			Anchor:   AnchorHFOIDCResource,
			Severity: Warning,
			Problem:  fmt.Sprintf("HF_OIDC_RESOURCE is set (%q): huggingface_hub then runs its own exchange and ignores HF_TOKEN and HF_TOKEN_PATH", safetext.Clip(v, 100)),
			Fix:      "Unset HF_OIDC_RESOURCE in the job's environment: hf-oidc reads its resources from --resource or HF_OIDC_RESOURCES (plural).",
		})
	}
	for _, list := range in.Resources {
		for _, e := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' || r == '\n' }) {
			if e = strings.TrimSpace(e); e == "" {
				continue
			}
			if _, err := resource.Parse(e); err != nil {
				fs = append(fs, Finding{
					Anchor:   AnchorResourceForm,
					Severity: Error,
					Problem:  err.Error(),
					Fix:      "Name each resource as the Hub does: ns/name (a model), datasets/ns/name, spaces/ns/name, kernels/ns/name, or a username, optionally followed by =ENV_NAME.",
				})
			}
		}
	}
	return fs
}

// CheckToken lists the problems of the ID token itself, the ones that can
// make the Hub refuse it. It finds nothing when there is no token.
func CheckToken(in Input) []Finding {
	t := in.Token
	if t == nil {
		return nil
	}
	shape := ShapeOf(t, in.Provider)
	var fs []Finding
	if f, ok := checkAudience(t, shape, in.audience()); ok {
		fs = append(fs, f)
	}
	if f, ok := checkHubAudience(t, in); ok {
		fs = append(fs, f)
	}
	fs = append(fs, checkTimes(t, in)...)
	switch shape {
	case GitHub:
		fs = append(fs, checkGitHub(t)...)
	case CircleCI:
		if v, _ := scalar(t.Claims, "oidc.circleci.com/ssh-rerun"); v == "true" {
			fs = append(fs, Finding{
				Anchor:   AnchorCircleCISSHRerun,
				Severity: Warning,
				Problem:  "this ID token comes from a CircleCI job rerun with SSH (oidc.circleci.com/ssh-rerun is true), which relying parties commonly refuse: anyone with SSH access to the job could use it",
				Fix:      "Publish from a run without SSH (Rerun workflow from start, or from failed); keep SSH reruns for debugging.",
			})
		}
	}
	return fs
}

// hubURL is the Hub's own URL, whose audience is DefaultAudience.
const hubURL = "https://huggingface.co"

// checkHubAudience compares an audience asked for with --audience with the
// Hub's: huggingface.co takes no other, a Hub of one's own may.
func checkHubAudience(t *idtoken.Token, in Input) (Finding, bool) {
	asked := in.audience()
	if asked == DefaultAudience || slices.Contains(t.Audience, DefaultAudience) {
		return Finding{}, false
	}
	f := Finding{
		Anchor:   AnchorAudience,
		Severity: Error,
		Problem:  fmt.Sprintf("--audience (or HF_OIDC_AUDIENCE) asks for the audience %s, not the Hub's %s, and huggingface.co refuses an ID token for any other", clean(asked), DefaultAudience),
		Fix:      fmt.Sprintf("Leave out --audience and HF_OIDC_AUDIENCE: hf-oidc asks for %s by default. Set another only for a Hub of your own that requires it.", DefaultAudience),
	}
	if e := strings.TrimRight(in.Endpoint, "/"); e != "" && e != hubURL {
		f.Severity = Warning
		f.Problem = fmt.Sprintf("--audience (or HF_OIDC_AUDIENCE) asks for the audience %s, not the Hub's %s: right only if the Hub at %s requires it", clean(asked), DefaultAudience, clean(e))
	}
	return f, true
}

func checkAudience(t *idtoken.Token, shape Shape, want string) (Finding, bool) {
	if slices.Contains(t.Audience, want) {
		return Finding{}, false
	}
	got := joinAudience(t.Audience)
	switch {
	case shape == CircleCI && len(t.Audience) == 1 && strings.HasSuffix(t.Issuer, "/org/"+t.Audience[0]):
		return Finding{
			Anchor:   AnchorCircleCIOrgAudience,
			Severity: Error,
			Problem:  fmt.Sprintf("the ID token's aud is %s, the CircleCI organization's ID: it is the fixed-audience token of $CIRCLE_OIDC_TOKEN or $CIRCLE_OIDC_TOKEN_V2, and the Hub requires %s", got, want),
			Fix:      fmt.Sprintf("Mint one for the Hub with `circleci run oidc get --claims '{\"aud\":\"%s\"}'`, as the circleci provider does; do not pass $CIRCLE_OIDC_TOKEN_V2 as HF_OIDC_ID_TOKEN.", want),
		}, true
	case shape == Bitbucket && slices.ContainsFunc(t.Audience, func(a string) bool { return strings.HasPrefix(a, "ari:cloud:bitbucket::workspace/") }):
		return Finding{
			Anchor:   AnchorBitbucketWorkspaceAudience,
			Severity: Error,
			Problem:  fmt.Sprintf("the ID token's aud is %s, the Bitbucket workspace's default audience, and the Hub requires %s", got, want),
			Fix:      fmt.Sprintf("Give the step the Hub's audience: replace `oidc: true` with `oidc: { audiences: [%s] }`.", want),
		}, true
	}
	fix := fmt.Sprintf("Mint the ID token for the audience %s with the issuer's audience setting (for a Hub that requires another audience, pass it with --audience).", want)
	if p, ok := providerinfo.Lookup(string(shape)); ok {
		fix = fmt.Sprintf(p.AudienceFix, want)
	}
	problem := fmt.Sprintf("the ID token's aud is %s, not the Hub's %s, so the Hub refuses it", got, want)
	if want != DefaultAudience {
		problem = fmt.Sprintf("the ID token's aud is %s, not %s, the audience --audience (or HF_OIDC_AUDIENCE) asks for", got, clean(want))
	}
	return Finding{
		Anchor:   AnchorAudience,
		Severity: Error,
		Problem:  problem,
		Fix:      fix,
	}, true
}

func checkTimes(t *idtoken.Token, in Input) []Finding {
	now := in.Now
	var fs []Finding
	switch left := t.Expiry.Sub(now); {
	case left <= 0:
		fs = append(fs, Finding{
			Anchor:   AnchorExpired,
			Severity: Error,
			Problem:  fmt.Sprintf("the ID token expired %s ago (exp %s)", Duration(left), Timestamp(t.Expiry)),
			Fix:      ExpiredFix(in.CanMint),
		})
	case left <= ExpiringWithin && !in.CanMint:
		// A provider that mints does so for every exchange: an old token
		// is never used, and reporting it would be noise.
		fs = append(fs, Finding{
			Anchor:   AnchorExpiring,
			Severity: Warning,
			Problem:  fmt.Sprintf("the ID token expires in %s (exp %s) and cannot be renewed: the provider gave it once for the job", Duration(left), Timestamp(t.Expiry)),
			Fix:      "Exchange it now, early in the job; for a job that must exchange later, use a provider that mints on demand (github, circleci, buildkite) or give the token a longer lifetime.",
		})
	}
	issued := t.IssuedAt
	if t.NotBefore.After(issued) {
		issued = t.NotBefore
	}
	if ahead := issued.Sub(now); !issued.IsZero() && ahead > SkewTolerance {
		fs = append(fs, Finding{
			Anchor:   AnchorClockSkew,
			Severity: Warning,
			Problem:  fmt.Sprintf("the ID token was issued %s in the future (iat %s, this machine's clock %s): this machine's clock or the issuer's is off by about %s", Duration(ahead), Timestamp(issued), Timestamp(now), Duration(ahead)),
			Fix:      "Sync this machine's clock (NTP, e.g. `timedatectl set-ntp true` or chrony): hf-oidc times renewals by it, and the Hub refuses a token that is not valid yet by its own clock.",
		})
	}
	return fs
}

// ExpiredFix is what to do about an expired ID token: sync the clock where
// the provider minted it just now (canMint), else get a new one.
func ExpiredFix(canMint bool) string {
	if canMint {
		return "hf-oidc minted this token just now, so this machine's clock is ahead of the issuer's: sync it (NTP, e.g. `timedatectl set-ntp true`)."
	}
	return "This ID token was minted once for the job and hf-oidc cannot renew it: exchange it while it is valid (early in the job), or get a new one by rerunning the job."
}

func checkGitHub(t *idtoken.Token) []Finding {
	var fs []Finding
	switch kind, where := githubIssuerKind(t.Issuer); kind {
	case githubEnterpriseSlug:
		fs = append(fs, Finding{
			Anchor:   AnchorGitHubEnterpriseIssuer,
			Severity: Warning,
			Problem:  fmt.Sprintf("the ID token's issuer is %s, the form GitHub uses for the enterprise %q (include_enterprise_slug is on), not %s", clean(t.Issuer), clean(where), GitHubIssuer),
			Fix:      fmt.Sprintf("On the Hub, configure the publisher with this exact issuer (a custom OIDC provider if the GitHub preset only offers %s), or turn include_enterprise_slug off for the enterprise.", GitHubIssuer),
		})
	case githubServer:
		fs = append(fs, Finding{
			Anchor:   AnchorGitHubGHESIssuer,
			Severity: Warning,
			Problem:  fmt.Sprintf("the ID token comes from GitHub Enterprise Server at %s (issuer %s), not from github.com", clean(where), clean(t.Issuer)),
			Fix:      fmt.Sprintf("The Hub must reach %s/.well-known/openid-configuration and its keys from the internet, and the publisher must name this issuer rather than the GitHub preset's %s.", clean(t.Issuer), GitHubIssuer),
		})
	}
	wf, _ := scalar(t.Claims, "workflow_ref")
	jwf, _ := scalar(t.Claims, "job_workflow_ref")
	if wf != "" && jwf != "" && wf != jwf {
		caller := "the caller's file name"
		if file, ok := hubmatch.WorkflowFile(wf); ok {
			caller = file
		}
		fs = append(fs, Finding{
			Anchor:   AnchorGitHubReusableWorkflow,
			Severity: Warning,
			Problem:  fmt.Sprintf("this job runs in a reusable workflow: workflow_ref names the caller, %s, and job_workflow_ref the called workflow, %s", clean(wf), clean(jwf)),
			Fix:      fmt.Sprintf("The Hub's workflow field compares with workflow_ref, so enter the caller's file, %s; to pin the reusable workflow instead, configure a job_workflow_ref claim with its full value.", clean(caller)),
		})
	}
	if immutableSub().MatchString(t.Subject) {
		repo, _ := scalar(t.Claims, "repository")
		fs = append(fs, Finding{
			Anchor:   AnchorGitHubImmutableSub,
			Severity: Note,
			Problem:  fmt.Sprintf("the ID token's sub uses GitHub's immutable form, %s, which names the owner and the repository with their IDs", clean(t.Subject)),
			Fix:      fmt.Sprintf("A publisher that pins sub must spell it exactly so (repo:OWNER/REPO:… no longer matches); the repository field compares with the repository claim, %s, which keeps its usual form.", clean(repo)),
		})
	}
	if ref, ok := scalar(t.Claims, "ref"); ok && ref != "" {
		if _, branch := hubmatch.Branch(ref); !branch {
			fs = append(fs, Finding{
				Anchor:   AnchorGitHubNotABranch,
				Severity: Note,
				Problem:  fmt.Sprintf("this run is for %s, not a branch, and the Hub form's branch field matches branches only", clean(ref)),
				Fix:      fmt.Sprintf("Leave branch empty on the publisher and pin ref = %s (or ref_type) instead, or publish from a run on a branch.", clean(ref)),
			})
		}
	}
	return fs
}

// PermissionSnippet is the YAML that gives a GitHub Actions job what hf-oidc
// needs, valid on one line wherever it goes (a job, or the workflow's top).
const PermissionSnippet = "permissions: { id-token: write, contents: read }"

// NoToken explains why there is no ID token: in.TokenErr, from the provider
// in.Provider (claims and every command that exchanges say the same).
func NoToken(in Input) Finding {
	var setup *plugins.SetupError
	var nd *plugins.NotDetectedError
	switch {
	case errors.As(in.TokenErr, &nd):
		return Finding{
			Anchor:   AnchorNoProvider,
			Severity: Error,
			Problem:  nd.Error(),
			Fix:      "Run this inside a CI job of a supported provider, force one with --provider, or pass a pre-minted ID token in HF_OIDC_ID_TOKEN or --id-token-file. Try `hf-oidc demo` to see the whole flow locally.",
		}
	case export.InActions(in.getenv) != nil && in.Provider == "github" &&
		(in.getenv("ACTIONS_ID_TOKEN_REQUEST_URL") == "" || in.getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN") == ""):
		if fork, base, ok := forkPullRequest(in); ok {
			return Finding{
				Anchor:   AnchorGitHubForkPR,
				Severity: Error,
				Problem:  fmt.Sprintf("this run is for a pull request from the fork %s into %s, and GitHub gives such runs no ID token, whatever their permissions", clean(fork), clean(base)),
				Fix:      fmt.Sprintf("Publish from a workflow that runs in %s itself (on push, release or workflow_dispatch), not on pull requests from forks.", clean(base)),
			}
		}
		return Finding{
			Anchor:   AnchorGitHubPermission,
			Severity: Error,
			Problem:  "GitHub gave this job no ID token: the job lacks the id-token: write permission (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set)",
			Fix:      "Give the job that runs hf-oidc the permission. A job's own permissions: replaces the workflow's whole, so if the job has one, add it there; else the job or the top of the workflow will do:",
			Snippet:  []string{PermissionSnippet},
		}
	case errors.As(in.TokenErr, &setup):
		return Finding{
			Anchor:   AnchorNoIDToken,
			Severity: Error,
			Problem:  "the " + setup.Provider + " provider has no ID token to give: " + setup.Problem,
			Fix:      setup.Fix,
		}
	}
	problem := "no ID token was read"
	if in.TokenErr != nil {
		problem = "getting an ID token failed: " + in.TokenErr.Error()
		if in.Provider != "" {
			problem = "getting an ID token from the " + in.Provider + " provider failed: " + in.TokenErr.Error()
		}
	}
	return Finding{
		Anchor:   AnchorNoIDToken,
		Severity: Error,
		Problem:  problem,
		Fix:      "Check the provider's setup (hf-oidc providers shows what is detected); a pre-minted token must be the JWT itself, exactly as the CI minted it.",
	}
}

func (in *Input) readFile(path string) ([]byte, error) {
	if in.ReadFile != nil {
		return in.ReadFile(path)
	}
	return os.ReadFile(path)
}
