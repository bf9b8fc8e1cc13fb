package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/internal/transport"
)

// demoResources show each kind of resource the Hub exchanges for.
var demoResources = []string{"acme/awesome-model", "datasets/acme/awesome-dataset=HF_DATASET_TOKEN", "spaces/acme/demo", "acme-bot"}

const demoAbout = `Runs the whole flow against the embedded sandbox, a real local OIDC issuer
and Hub on loopback: mints a GitHub-style ID token, exchanges it once per
resource through the same client a CI job uses, and checks every token
against the sandbox's whoami. No CI, no network, no account.`

func runDemo(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "demo", "[flags]", demoAbout)
	var raw listValue
	fs.Var(&raw, "resource", "resource `R` to exchange for (repeatable; default: "+strings.Join(demoResources, ", ")+")")
	if err := fs.parse(args); err != nil {
		return err
	}
	if len(raw) == 0 {
		raw = demoResources
	}
	rs, err := resource.ParseList(raw)
	if err != nil {
		return &config.UsageError{Err: fmt.Errorf("--resource: %w", err)}
	}

	// Over TLS and HTTP/2, as against the Hub, trusting the sandbox's own
	// certificate the way a runner behind a TLS-inspecting proxy would.
	sb, err := sandbox.Start(sandbox.Config{TLS: true})
	if err != nil {
		return fmt.Errorf("starting the sandbox: %w", err)
	}
	defer sb.Close()
	for _, r := range rs {
		sb.TrustGitHub(r.Name)
	}
	dir, err := os.MkdirTemp("", "hf-oidc-demo-")
	if err != nil {
		return fmt.Errorf("writing the sandbox's certificate: %w", err)
	}
	defer os.RemoveAll(dir)
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, sb.CertPEM(), 0o644); err != nil {
		return fmt.Errorf("writing the sandbox's certificate: %w", err)
	}
	// Only the sandbox's variables: the demo must not pick up a real CI's.
	vars := envMap(append(sb.GitHubEnv(), transport.CAFileVar+"="+ca))
	cfg := &config.Config{
		Resources: rs,
		Provider:  "github",
		Audience:  "https://huggingface.co",
		Endpoint:  sb.URL(),
		Timeout:   time.Minute,
		Getenv:    func(k string) string { return vars[k] },
	}
	s, err := newSession(cfg, env, nil)
	if err != nil {
		return err
	}
	start := env.Now()
	results, err := s.round(ctx)
	took := env.Now().Sub(start)
	if err != nil {
		if results != nil {
			printFailure(env, false, s, results, false)
			return &reportedError{err: err}
		}
		return err
	}

	w := env.Stdout
	fmt.Fprintf(w, "hf-oidc demo: the CI flow end to end against the embedded sandbox (no CI, no network, no account)\n\n")
	fmt.Fprintf(w, "  sandbox     %s  (a local OIDC issuer and Hub; HTTP/2 over TLS with its own CA)\n", sb.URL())
	fmt.Fprintf(w, "  provider    github  (ID token from the sandbox's GitHub-style endpoint)\n")
	if t := s.ids.Last(); t != nil {
		fmt.Fprintf(w, "  ID token    iss %s\n", t.Issuer)
		fmt.Fprintf(w, "              sub %s\n", t.Subject)
		fmt.Fprintf(w, "              aud %s, expires in %s\n", strings.Join(t.Audience, ","), t.Expiry.Sub(env.Now()).Round(time.Second))
	}
	fmt.Fprintf(w, "  publishers  on the sandbox Hub, each resource trusts repository=acme/training, branch=main, workflow=publish.yml\n\n")

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  RESOURCE\tVARIABLE\tTOKEN\tEXPIRES\tWHOAMI")
	failures := 0
	for i, r := range results {
		who, werr := whoami(ctx, s.hc, sb.URL(), r.Token.AccessToken)
		if werr != nil {
			who, failures = "FAILED: "+werr.Error(), failures+1
		}
		name := r.Resource.Env
		if i == 0 {
			name += ", HF_TOKEN"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", r.Resource.Name, name, maskToken(r.Token.AccessToken), r.Token.ExpiresAt.UTC().Format(time.RFC3339), who)
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d resource%s exchanged concurrently with one ID token in %s.\n", len(results), plural(len(results)), took.Round(time.Millisecond))
	fmt.Fprintf(w, "In a CI job the same flow is: eval \"$(hf-oidc exchange --resource %s --format shell)\"\n", rs[0].Name)
	if failures > 0 {
		return fmt.Errorf("%d token%s did not work against the sandbox's whoami", failures, plural(failures))
	}
	return nil
}

// whoami asks the Hub who a token belongs to, as the hf CLI does.
func whoami(ctx context.Context, c *http.Client, endpoint, token string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/api/whoami-v2", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("calling whoami: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("whoami answered HTTP %d", resp.StatusCode)
	}
	var who struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(body, &who); err != nil {
		return "", fmt.Errorf("reading whoami: %w", err)
	}
	return "ok: " + who.Name, nil
}

// maskToken shows a token's kind, never any of its secret part.
func maskToken(tok string) string {
	for _, p := range []string{"hf_jwt_", "hf_oauth_", "hf_"} {
		if strings.HasPrefix(tok, p) {
			return p + "****"
		}
	}
	return "****"
}

func envMap(kv []string) map[string]string {
	m := make(map[string]string, len(kv))
	for _, e := range kv {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

type listValue []string

func (l *listValue) String() string     { return strings.Join(*l, ",") }
func (l *listValue) Set(v string) error { *l = append(*l, v); return nil }
