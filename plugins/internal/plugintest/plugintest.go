// Package plugintest holds what the providers' tests share.
package plugintest

import (
	"encoding/base64"
	"encoding/json"
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
