package cli

import (
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/config"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

// FuzzPipeEnv fuzzes the pipe's variables as config.Load sees them after
// pipeEnv: bad input is refused with a message fit for a terminal, and what
// is accepted is exactly the resources the items list, for the bitbucket
// provider, with an audience and an endpoint config.Load accepts too.
func FuzzPipeEnv(f *testing.F) {
	f.Add("", "acme/model, datasets/acme/d=D", "", "", "", "")
	f.Add("2", "", "acme/a", "acme/b\nalice", "api://hub", "https://hub.example/")
	f.Add("1", "", "acme/a=PATH", "", "a b", "http://example.com")
	f.Add("2", "", "acme/a", "acme/a", "", "")
	f.Add("", "acme/"+strings.Repeat("x", 200), "", "", "\x1b[2J", "https://u:p@h")
	f.Fuzz(func(t *testing.T, count, str, item0, item1, audience, endpoint string) {
		env := map[string]string{
			"RESOURCES_COUNT": count, "RESOURCES": str, "RESOURCES_0": item0, "RESOURCES_1": item1,
			"AUDIENCE": audience, "ENDPOINT": endpoint, "HF_OIDC_PROVIDER": "github",
		}
		getenv, err := pipeEnv(mapEnv(env))
		if err != nil {
			if !config.IsUsage(err) {
				t.Fatalf("not bad input: %v", err)
			}
			msg := err.Error()
			if len(msg) > 1000 || strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
				t.Fatalf("message unfit for a terminal: %q", msg)
			}
			return
		}
		if p := getenv("HF_OIDC_PROVIDER"); p != "bitbucket" {
			t.Fatalf("provider %q, want bitbucket whatever the step sets", p)
		}
		all, err := resource.ParseList([]string{getenv("HF_OIDC_RESOURCES")})
		if err != nil {
			t.Fatalf("accepted resources config.Load refuses: %v", err)
		}
		values, _ := pipeResources(mapEnv(env))
		n := 0
		for _, v := range values {
			rs, err := resource.ParseList([]string{v.value})
			if err != nil {
				t.Fatalf("accepted %s, which does not parse alone: %v", v.name, err)
			}
			n += len(rs)
		}
		if n != len(all) {
			t.Fatalf("the items hold %d resources, the joined list %d", n, len(all))
		}
		if a := getenv("HF_OIDC_AUDIENCE"); a != "" && strings.ContainsAny(a, " \t\r\n") {
			t.Fatalf("accepted audience %q", a)
		}
		if e := getenv("HF_ENDPOINT"); e != "" {
			if _, err := exchange.CheckEndpoint(e); err != nil {
				t.Fatalf("accepted endpoint %q: %v", e, err)
			}
		}
	})
}
