package diag

// DocsURL is the troubleshooting page that every "Next:" line links to. It is
// a full URL rather than a path in the repository: the user reads the message
// in a CI log, where a URL is a link and no checkout of hf-oidc is at hand.
const DocsURL = "https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md"

// An Anchor names one entry of docs/troubleshooting.md. A test checks that
// every anchor used in the code has its entry and every entry is used.
type Anchor string

// The entries of docs/troubleshooting.md.
const (
	// Problems with the ID token.
	AnchorAudience                   Anchor = "audience"
	AnchorCircleCIOrgAudience        Anchor = "circleci-org-audience"
	AnchorBitbucketWorkspaceAudience Anchor = "bitbucket-workspace-audience"
	AnchorExpired                    Anchor = "expired"
	AnchorExpiring                   Anchor = "expiring"
	AnchorClockSkew                  Anchor = "clock-skew"
	AnchorGitHubReusableWorkflow     Anchor = "github-reusable-workflow"
	AnchorGitHubEnterpriseIssuer     Anchor = "github-enterprise-issuer"
	AnchorGitHubGHESIssuer           Anchor = "github-ghes-issuer"
	AnchorGitHubImmutableSub         Anchor = "github-immutable-sub"
	AnchorGitHubNotABranch           Anchor = "github-not-a-branch"
	AnchorCircleCISSHRerun           Anchor = "circleci-ssh-rerun"

	// No ID token at all.
	AnchorGitHubPermission Anchor = "github-id-token-permission"
	AnchorGitHubForkPR     Anchor = "github-fork-pull-request"
	AnchorNoProvider       Anchor = "no-provider"
	AnchorNoIDToken        Anchor = "no-id-token"

	// The job's configuration.
	AnchorHFOIDCResource Anchor = "hf-oidc-resource"
	AnchorResourceForm   Anchor = "resource-form"
	AnchorBadInput       Anchor = "bad-input"
	AnchorExecCommand    Anchor = "exec-command"
	AnchorStopKeeper     Anchor = "stop-keeper"
	AnchorLocalFailure   Anchor = "local-failure"
	AnchorRefreshFailed  Anchor = "refresh-failed"
	AnchorAssumedExpiry  Anchor = "assumed-expiry"

	// The Hub's answers.
	AnchorInvalidGrant   Anchor = "invalid-grant"
	AnchorInvalidRequest Anchor = "invalid-request"
	AnchorHubUnavailable Anchor = "hub-unavailable"
	AnchorHubUnreachable Anchor = "hub-unreachable"

	// No answer from the Hub, or one from something else, by what happened.
	AnchorConnectionRefused Anchor = "connection-refused"
	AnchorNoSuchHost        Anchor = "no-such-host"
	AnchorTLSUntrusted      Anchor = "tls-untrusted"
	AnchorTLSHostname       Anchor = "tls-hostname"
	AnchorTLSHandshake      Anchor = "tls-handshake"
	AnchorProxy             Anchor = "proxy"
	AnchorHubTimeout        Anchor = "hub-timeout"
	AnchorNotTheHub         Anchor = "not-the-hub"
	AnchorExpectMismatch    Anchor = "expect-mismatch"
)

// URL is the anchor's entry on the troubleshooting page.
func (a Anchor) URL() string { return DocsURL + "#" + string(a) }

// See is what ends every "Next:" line: "(see URL)".
func (a Anchor) See() string { return "(see " + a.URL() + ")" }
