package gitcred

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/hf-oidc/hf-oidc/plugins/safetext"
)

// maxInput bounds what a helper reads: git sends a few short lines.
const maxInput = 64 << 10

// A Request is what git tells a credential helper about the credential it
// needs (git-credential(1), "INPUT/OUTPUT FORMAT").
type Request struct {
	Protocol string // "https", "http"
	Host     string // with ":port" when not the default
	Path     string // only with credential.useHttpPath: "acme/model.git"
	Username string
	Password string // erase and store: the password git used
}

// ReadRequest reads key=value lines up to a blank line or the end of the
// input. Keys it does not use (capability[], wwwauth[], …) are skipped, as
// git asks of helpers; a url key is split into the others.
func ReadRequest(r io.Reader) (Request, error) {
	var req Request
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return req, fmt.Errorf("reading git's request: %w", err)
	}
	if len(data) > maxInput {
		return req, fmt.Errorf("reading git's request: longer than %d KiB", maxInput>>10)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxInput)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			break
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return Request{}, fmt.Errorf("reading git's request: line %d has no \"=\"", n)
		}
		if strings.ContainsRune(value, 0) {
			return Request{}, fmt.Errorf("reading git's request: the value of %s holds a NUL byte", safetext.Quote(key, 40))
		}
		switch key {
		case "protocol":
			req.Protocol = value
		case "host":
			req.Host = value
		case "path":
			req.Path = value
		case "username":
			req.Username = value
		case "password":
			req.Password = value
		case "url":
			if err := req.setURL(value); err != nil {
				return Request{}, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Request{}, fmt.Errorf("reading git's request: %w", err)
	}
	return req, nil
}

// setURL fills the fields from a url attribute, as git itself does.
func (r *Request) setURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("reading git's request: the url attribute is not a URL")
	}
	r.Protocol, r.Host = u.Scheme, u.Host
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		r.Path = p
	}
	if u.User != nil {
		r.Username = u.User.Username()
		if pw, ok := u.User.Password(); ok {
			r.Password = pw
		}
	}
	// Percent-escapes decode to any byte; git refuses a line break in a
	// URL's parts (CVE-2020-5260), and a NUL would cut its C strings.
	for _, f := range []struct{ name, v string }{{"host", r.Host}, {"path", r.Path}, {"user name", r.Username}, {"password", r.Password}} {
		if strings.ContainsAny(f.v, "\n\r\x00") {
			return fmt.Errorf("reading git's request: the url attribute's %s holds a line break or NUL", f.name)
		}
	}
	return nil
}

// An Answer is what a helper tells git for get.
type Answer struct {
	Username string
	Password string    // the token: secret
	Expiry   time.Time // git 2.41+ stops using the password then; zero: not said
}

// Write writes a in git's format. It refuses a value git would misread
// rather than let it start a line of its own.
func (a Answer) Write(w io.Writer) error {
	for name, v := range map[string]string{"username": a.Username, "password": a.Password} {
		if v == "" || strings.ContainsAny(v, "\n\r\x00") {
			return fmt.Errorf("answering git: the %s is empty or holds a line break or NUL", name)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "username=%s\npassword=%s\n", a.Username, a.Password)
	if !a.Expiry.IsZero() {
		fmt.Fprintf(&b, "password_expiry_utc=%d\n", a.Expiry.Unix())
	}
	// One write: git reads until EOF, and half an answer is worse than none.
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("answering git: %w", err)
	}
	return nil
}

// For reports whether the request is for endpoint's host: the same scheme
// (so that a token for https never goes over http) and the same host and
// port, defaults made explicit, case aside.
func (r Request) For(endpoint *url.URL) bool {
	return strings.EqualFold(r.Protocol, endpoint.Scheme) &&
		hostPort(r.Protocol, r.Host) == hostPort(endpoint.Scheme, endpoint.Host)
}

func hostPort(scheme, host string) string {
	host = strings.ToLower(host)
	if strings.LastIndex(host, ":") > strings.LastIndex(host, "]") {
		return host
	}
	switch strings.ToLower(scheme) {
	case "https":
		return host + ":443"
	case "http":
		return host + ":80"
	}
	return host
}

// RepoName is the Hub name of the repository a request path points into:
// "acme/model.git" → "acme/model", "datasets/acme/data/info/lfs" →
// "datasets/acme/data". prefix is the endpoint's own path, if any. It
// returns "" for a path that names no repository.
func RepoName(path, prefix string) string {
	path = strings.Trim(path, "/")
	if prefix = strings.Trim(prefix, "/"); prefix != "" {
		rest, ok := strings.CutPrefix(path, prefix+"/")
		if !ok {
			return ""
		}
		path = rest
	}
	parts := strings.Split(path, "/")
	n := 2
	switch parts[0] {
	case "datasets", "spaces", "kernels":
		n = 3
	}
	if len(parts) < n {
		return ""
	}
	parts = parts[:n]
	parts[n-1] = strings.TrimSuffix(parts[n-1], ".git")
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return ""
		}
	}
	return strings.Join(parts, "/")
}
