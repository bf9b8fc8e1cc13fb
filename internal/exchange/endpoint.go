package exchange

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
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
	shown := *u
	shown.RawQuery, shown.ForceQuery, shown.Fragment, shown.RawFragment = "", false, "", ""
	switch {
	case u.Scheme == "":
		return nil, fmt.Errorf("the endpoint %q has no scheme; %s", shown.String(), endpointRule)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("the endpoint %q has the scheme %s; %s", shown.String(), u.Scheme, endpointRule)
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("the endpoint %q has no host; %s", shown.String(), endpointRule)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("the endpoint %q uses http:// for a host that is not a loopback address; %s", shown.String(), endpointRule)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("the endpoint %q must not have a query (?…); %s", shown.String(), endpointRule)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, fmt.Errorf("the endpoint %q must not have a fragment (#…); %s", shown.String(), endpointRule)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
