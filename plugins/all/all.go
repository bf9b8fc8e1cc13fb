package all

// Keep these sorted by name; detection order comes from each provider's
// Register call, not from here.
import (
	_ "github.com/hf-oidc/hf-oidc/plugins/bitbucket"
	_ "github.com/hf-oidc/hf-oidc/plugins/buildkite"
	_ "github.com/hf-oidc/hf-oidc/plugins/circleci"
	_ "github.com/hf-oidc/hf-oidc/plugins/env"
	_ "github.com/hf-oidc/hf-oidc/plugins/github"
	_ "github.com/hf-oidc/hf-oidc/plugins/gitlab"
)
