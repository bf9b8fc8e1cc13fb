// Package packagingtest runs hf-oidc's GitLab template, CircleCI orb and
// Bitbucket pipe in the closest real runners there are offline, against the
// sandbox, and keeps the release digests they carry in step with .release/.
package packagingtest
