// Package bench measures the real hf-oidc binary against the sandbox with an
// injected round-trip latency, next to the documented curl and jq recipe, and
// writes the figures as JSON, Markdown and an SVG chart.
package bench
