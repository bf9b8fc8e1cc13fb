package testkit

import (
	"regexp"
	"strings"
	"testing"

	"github.com/hf-oidc/hf-oidc/internal/sandbox"
)

// NoLeak fails if any secret sb minted (ID tokens, Hub tokens, the
// sandbox's request credentials), or anything shaped like a token, is in
// any of outputs, named for the message. With a nil sb (a sandbox the test
// cannot reach, such as the demo's) it checks the shapes alone.
func NoLeak(t testing.TB, sb *sandbox.Sandbox, outputs map[string]string) {
	t.Helper()
	var secrets []string
	if sb != nil {
		secrets = sb.Minted()
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if s != "" && strings.Contains(out, s) {
				t.Errorf("%s leaks a secret the sandbox minted (%.12s…)", name, s)
			}
		}
		if m := TokenShaped(out); m != "" {
			t.Errorf("%s holds something shaped like a token (%.12s…)", name, m)
		}
	}
}

// tokenShapes are the tokens hf-oidc handles as the sandbox mints them: a
// Hub token (hf_jwt_…, hf_oauth_…), or a JWT's header and payload. It is
// narrower than safetext.TokenLike on purpose: that takes a JWT's header
// alone (eyJ and 8 characters), which every ID token shares and which
// hf-oidc quotes by design when a token is given where a name belongs
// (e2e's TestBadInput; TestLeakFind holds it is no leak), and any hf_ word,
// such as the stale values tests plant (hf_stale_…).
var tokenShapes = regexp.MustCompile(`hf_(jwt|oauth)_[A-Za-z0-9_\-]{8,}|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.`)

// TokenShaped returns the first thing in out shaped like a token, or ""
// when there is none: for scans of output where a test does not know every
// secret.
func TokenShaped(out string) string {
	return tokenShapes.FindString(out)
}
