package release

import (
	"bytes"
	"encoding/pem"

	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// CABundle returns the PEM bundle of root certificates the pipe's image
// holds at /etc/ssl/certs/ca-certificates.crt, where Go looks for them. It
// is the Mozilla NSS root store as golang.org/x/crypto/x509roots/fallback
// carries it: go.sum pins that module's hash, so the bundle cannot drift
// with the machine the image is built on, and a new bundle is a reviewed
// change to go.mod. Roots NSS trusts only for certificates issued before a
// date are left out: a PEM file cannot say so, and would trust them for
// every certificate.
func CABundle() []byte {
	var b bytes.Buffer
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate})
	}
	return b.Bytes()
}
