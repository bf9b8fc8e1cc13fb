package all

// Keep these sorted by name; detection order comes from each provider's
// Register call, not from here.
import (
	_ "github.com/hf-oidc/hf-oidc/plugins/env"
	_ "github.com/hf-oidc/hf-oidc/plugins/github"
)
