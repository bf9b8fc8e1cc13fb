// Package all compiles in every CI provider: import it for its side effect
// and each provider registers itself with plugins.
//
// Detection order is not this file's import order (Go initialises imported
// packages in an order no reader should have to work out); each provider
// states its own place when it calls plugins.Register, and plugins.Detect
// tries them by ascending number:
//
//	10 env        a pre-minted token in HF_OIDC_ID_TOKEN or HF_OIDC_ID_TOKEN_FILE
//	20 github     GitHub Actions
//	30 gitlab     GitLab CI
//	40 circleci   CircleCI
//	50 bitbucket  Bitbucket Pipelines
//	60 buildkite  Buildkite
//
// env comes first because its variables are set only on purpose, while the
// CI around the job is merely where it happens to run: a user who hands over
// a token (minted with another audience, in an earlier job, or by a tool we do
// not know) means that token, even on a GitHub runner that could mint its
// own. Were GitHub first, the user's token would be silently ignored there.
// A GitLab job that names its id_tokens variable HF_OIDC_ID_TOKEN is thus
// served by env, which hands out the same token the gitlab provider would.
// The CI providers cannot overlap (each keys on its own CI's variable), so
// their order among themselves matters only for a job that fakes another
// CI's variables; gaps of ten leave room for providers added later.
package all
