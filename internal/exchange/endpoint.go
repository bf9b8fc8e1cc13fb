package exchange

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hf-oidc/hf-oidc/internal/transport"
)

// DefaultEndpoint is the Hub that Client.Endpoint names when empty.
const DefaultEndpoint = "https://huggingface.co"

const endpointRule = "HF_ENDPOINT or --endpoint must be the Hub's https:// URL, such as https://huggingface.co " +
	"(http:// only for a loopback address, such as http://127.0.0.1:8080)"

// CheckEndpoint parses the Hub's URL: https, or http only for a loopback
// host (tests and the sandbox), with no user info, query or fragment, since
// the ID token is sent there. The result has no trailing slash.
func CheckEndpoint(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("the endpoint is empty; " + endpointRule)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole input, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("the endpoint is not a valid URL (%v); %s", err, endpointRule)
	}
	if u.User != nil {
		return nil, errors.New("the endpoint must not hold a user name or password; " + endpointRule)
	}
	shown := shownURL(u)
	switch {
	case u.Scheme == "":
		return nil, fmt.Errorf("the endpoint %q has no scheme; %s", shown, endpointRule)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("the endpoint %q has the scheme %s; %s", shown, u.Scheme, endpointRule)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("the endpoint %q has no host; %s", shown, endpointRule)
	case u.Scheme == "http" && !transport.IsLoopback(u.Hostname()):
		return nil, fmt.Errorf("the endpoint %q uses http:// for a host that is not a loopback address; %s", shown, endpointRule)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("the endpoint %q must not have a query (?…); %s", shown, endpointRule)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("the endpoint %q must not have a fragment (#…); %s", shown, endpointRule)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// shownURL is u as an error may quote it: without its query or fragment,
// and nothing up to an "@", which may end a password even in a URL that
// did not parse as having user info ("user:pass@host" is the scheme "user").
func shownURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = "", false, "", ""
	s := c.String()
	if i := strings.LastIndex(s, "@"); i >= 0 {
		return "…" + s[i+1:]
	}
	return s
}
