//go:build linux && !android

package transport

import "strings"

// systemStore is where crypto/x509 looks on Linux (root_linux.go).
func systemStore(getenv func(string) string) (rootStore, bool) {
	s := rootStore{
		files: []string{
			"/etc/ssl/certs/ca-certificates.crt",                // Debian/Ubuntu/Gentoo etc.
			"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora/RHEL 6
			"/etc/ssl/ca-bundle.pem",                            // OpenSUSE
			"/etc/pki/tls/cacert.pem",                           // OpenELEC
			"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS/RHEL 7
			"/etc/ssl/cert.pem",                                 // Alpine Linux
		},
		dirs: []string{"/etc/ssl/certs", "/etc/pki/tls/certs"},
	}
	if d := getenv(EnvCADir); d != "" {
		s.dirs = strings.Split(d, ":")
	}
	return s, true
}
