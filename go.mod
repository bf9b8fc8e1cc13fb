module github.com/hf-oidc/hf-oidc

go 1.26

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/sethvargo/go-githubactions v1.3.2
)

require github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
