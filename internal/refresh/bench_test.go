package refresh

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/idtoken"
	"github.com/hf-oidc/hf-oidc/internal/resource"
	"github.com/hf-oidc/hf-oidc/internal/sandbox"
	"github.com/hf-oidc/hf-oidc/plugins"
	"github.com/hf-oidc/hf-oidc/plugins/github"
)

// BenchmarkRefresh is one refresh as a keeper does it on GitHub, against
// the sandbox over loopback: mint an ID token, exchange it for every
// resource concurrently, write the token files and the status.
func BenchmarkRefresh(b *testing.B) {
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			sb, err := sandbox.Start(sandbox.Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer sb.Close()
			var names []string
			for i := range n {
				names = append(names, fmt.Sprintf("acme/model-%d", i))
				sb.TrustGitHub(names[i])
			}
			env := map[string]string{}
			for _, kv := range sb.GitHubEnv() {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			p := github.New(plugins.WithGetenv(func(k string) string { return env[k] }))
			// A margin longer than the sandbox's ID tokens: every refresh
			// mints, as on GitHub.
			ids := &idtoken.Source{Minter: p, Audience: "https://huggingface.co", Margin: 6 * time.Minute}
			client := &exchange.Client{Endpoint: sb.URL()}
			rs, err := resource.ParseList(names)
			if err != nil {
				b.Fatal(err)
			}
			dir, err := OpenDir(filepath.Join(b.TempDir(), "tokens"))
			if err != nil {
				b.Fatal(err)
			}
			k := &Keeper{
				Source: &Source{Resources: rs, Exchange: func(ctx context.Context, rs []resource.Resource) ([]exchange.Result, error) {
					return client.Round(ctx, ids, rs)
				}},
				Dir: dir,
			}
			// Warm the connections and the sandbox's key cache, as a
			// keeper's first round does.
			if _, err := k.Source.Refresh(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				// Everything is due: forget the tokens.
				k.Source.tokens = nil
				toks, err := k.Source.Refresh(context.Background())
				if err != nil || len(toks) != n {
					b.Fatalf("refresh: %d tokens, %v", len(toks), err)
				}
				if err := k.Write(toks, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
