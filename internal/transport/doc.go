// Package transport builds the one HTTP client that every request of
// hf-oidc goes through, the ID-token fetch and the exchanges, and holds its
// rules: https only but to loopback, proxies from the environment, the CAs
// of SSL_CERT_FILE, bounded connects and handshakes, same-origin redirects;
// and it can connect to a host ahead of the first request (Warm).
package transport
