// Package plugintest holds what the providers' tests share.
package plugintest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
)

// FakeJWT is an unsigned token with claims: enough for a provider, which
// never verifies (the Hub does).
func FakeJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(payload) + "." + enc([]byte("signature"))
}

// A Runner stands in for a provider's CLI (plugins.WithRunner(r.Run)): it
// records each command line and answers with Out and Err.
type Runner struct {
	Out []byte
	Err error

	mu    sync.Mutex
	calls [][]string
}

// Run is a plugins.Runner.
func (r *Runner) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, append([]string{name}, args...))
	return r.Out, r.Err
}

// Calls are the command lines Run was given, in order.
func (r *Runner) Calls() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}
