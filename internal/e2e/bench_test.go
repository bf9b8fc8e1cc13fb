package e2e

import (
	"fmt"
	"os/exec"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
)

// BenchmarkExchange runs the real binary for one exchange round against the
// sandbox: process start, ID-token mint, N concurrent exchanges, export.
func BenchmarkExchange(b *testing.B) {
	for _, n := range []int{1, 16} {
		b.Run(fmt.Sprintf("resources=%d", n), func(b *testing.B) {
			sb := startSandbox(b, sandbox.Config{})
			args := []string{"exchange", "--format", "json"}
			for i := range n {
				r := fmt.Sprintf("acme/model-%d", i)
				sb.TrustGitHub(r)
				args = append(args, "--resource", r)
			}
			env := hermeticEnv(b, sb.GitHubEnv()...)
			b.ResetTimer()
			for b.Loop() {
				cmd := exec.Command(bin, args...)
				cmd.Env = env
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("exchange: %v\n%s", err, out)
				}
			}
		})
	}
}
