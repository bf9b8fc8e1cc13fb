package refresh

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// An Owner is whom a token directory's tokens were obtained for: the job,
// the Hub that issued them, the audience of the ID token they were
// exchanged for and, where the provider only hands back the token it was
// given, that token. A token is served, exported or joined only for the
// same Owner: the Hub's check of the job's claims decides who gets a token,
// never a file left by another job on the same machine.
type Owner struct {
	Provider string // the provider's name
	Job      string // plugins.Provider.Job; "" where the provider names none
	IDToken  string // a pre-minted ID token, "" when the provider mints; only its hash is kept
	Endpoint string
	Audience string
}

// Known reports whether o names a job or a token: an Owner that names
// neither could be anyone, and is never served from a cache.
func (o Owner) Known() bool { return o.Job != "" || o.IDToken != "" }

// JobKey names the job in a few characters, for the default token
// directory's name and for status.json: the provider's job alone, so that
// every command of the job finds it whatever else it is given (--stop
// needs no audience), or the pre-minted token's hash where the provider
// names no job.
func (o Owner) JobKey() string {
	var sum string
	switch {
	case o.Job != "":
		sum = digest("hf-oidc job v1", o.Provider, o.Job)
	case o.IDToken != "":
		sum = digest("hf-oidc job v1", o.Provider, "", o.idTokenSum())
	default:
		return ""
	}
	return sum[:16]
}

// Key is what status.json records of o, and what Load compares: every
// field, hashed.
func (o Owner) Key() string {
	if !o.Known() {
		return ""
	}
	return digest("hf-oidc owner v1", o.Provider, o.Job, o.idTokenSum(), o.Endpoint, o.Audience)
}

func (o Owner) idTokenSum() string {
	if o.IDToken == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(o.IDToken))
	return hex.EncodeToString(sum[:])
}

// digest hashes fields with their lengths, so that no two lists of fields
// hash alike by moving a boundary.
func digest(fields ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range fields {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}
