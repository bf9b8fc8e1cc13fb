package cli

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hf-oidc/hf-oidc/internal/diag"
	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/transport"
	"github.com/hf-oidc/hf-oidc/plugins/retry"
)

// The kinds of failure where the Hub never answered, or something else
// did: each has its own causes, chosen by what the error says happened.
const (
	kindNotHub    = "not-hub"   // an answer, but no OAuth one: 3xx, 404, an HTML page
	kindUntrusted = "untrusted" // the certificate did not verify
	kindHostname  = "hostname"  // the certificate is for another host
	kindTLS       = "tls"       // no TLS handshake
	kindProxy     = "proxy"     // the proxy failed
	kindNoHost    = "no-host"   // DNS: no such host
	kindDNS       = "dns"       // the resolver failed
	kindRefused   = "refused"   // connection refused
	kindTimeout   = "timeout"   // the Hub (or the network) too slow
	kindOther     = "unreachable"
)

// netKind is the kind of a failure with no answer from the Hub.
func netKind(err error) string {
	switch retry.Classify(err) {
	case retry.KindRefused:
		return kindRefused
	case retry.KindNoHost:
		return kindNoHost
	case retry.KindDNS:
		return kindDNS
	case retry.KindUntrusted:
		return kindUntrusted
	case retry.KindHostname:
		return kindHostname
	case retry.KindTLS:
		return kindTLS
	case retry.KindTimeout:
		return kindTimeout
	case retry.KindProxy:
		return kindProxy
	}
	return kindOther
}

// netCauses are the likely causes of a kind of failure where the Hub
// never gave an OAuth answer, most likely first, and its "Next:" step.
func (f *failure) netCauses(kind string) (cs []cause, next string) {
	endpoint, host := f.endpoint, endpointHost(f.endpoint)
	public := "the public Hub is " + exchange.DefaultEndpoint + "."
	switch kind {
	case kindRefused:
		return causes(
				fmt.Sprintf("Nothing listens at %s: HF_ENDPOINT (%s) names a wrong host or port, or the server behind it is down.", host, endpoint),
				fmt.Sprintf("A firewall between this runner and %s rejects the connection.", host),
			), fmt.Sprintf("Check HF_ENDPOINT (%s): %s For another Hub, check that its server is up and reachable from this runner.",
				endpoint, public)
	case kindNoHost:
		return causes(
			fmt.Sprintf("HF_ENDPOINT (%s) misspells the host: %s", endpoint, public),
			fmt.Sprintf("%s exists only on a private network or DNS that this runner does not use (a VPN, an internal zone).", hostname(host)),
		), fmt.Sprintf("Correct the host name in HF_ENDPOINT (%s), or unset it for the public Hub.", endpoint)
	case kindDNS:
		return causes(
			fmt.Sprintf("The runner's DNS resolver failed to answer for %s (it did not say the name does not exist): a problem of the runner's network, often brief.", hostname(host)),
			"A firewall blocks DNS on this runner, or its resolver (/etc/resolv.conf) is wrong.",
		), "Run the job again; if it keeps failing, check the runner's DNS."
	case kindUntrusted:
		return causes(
			"A TLS-inspecting proxy or firewall on this runner's network re-signs HTTPS with its own CA: set SSL_CERT_FILE to a PEM bundle that holds it.",
			fmt.Sprintf("HF_ENDPOINT (%s) is a server whose certificate comes from a private CA, or is self-signed: add that CA to SSL_CERT_FILE.", endpoint),
			"The certificate has expired, or the runner's clock is wrong (the error above says which).",
		), transport.UntrustedHint
	case kindHostname:
		return causes(
			fmt.Sprintf("HF_ENDPOINT (%s) names the server otherwise than its certificate does (an IP address, an internal alias): use the name on the certificate.", endpoint),
			"A proxy, captive portal or firewall answered in the server's place with its own certificate.",
		), fmt.Sprintf("Use in HF_ENDPOINT the host name that the server's certificate names; %s", public)
	case kindTLS:
		return causes(
			fmt.Sprintf("HF_ENDPOINT (%s) says https for a port that speaks plain HTTP, or another protocol.", endpoint),
			"A proxy or firewall breaks TLS connections to this host.",
			"The server accepts none of the TLS versions hf-oidc offers (1.2 and 1.3).",
		), fmt.Sprintf("Check the scheme and port of HF_ENDPOINT (%s); %s", endpoint, public)
	case kindProxy:
		p := f.proxy
		if p == "" {
			p = "HTTPS_PROXY"
		}
		return causes(
			fmt.Sprintf("The proxy (%s) is down, restarting or unreachable from this runner.", p),
			"The proxy wants credentials (HTTP 407): give them in HTTPS_PROXY as http://USER:PASSWORD@HOST:PORT.",
			fmt.Sprintf("The proxy does not allow %s: ask its administrators, or add %s to NO_PROXY if the runner reaches it directly.", host, hostname(host)),
		), fmt.Sprintf("Check HTTPS_PROXY (%s) and NO_PROXY; run the job again if the proxy was restarting.", p)
	case kindTimeout:
		return causes(
			fmt.Sprintf("The Hub, or a proxy in front of it, stalled or answered too slowly: the --timeout of %s ran out while it waited, as said above.", f.timeout),
			fmt.Sprintf("A firewall silently drops connections to %s, so that they hang instead of being refused.", host),
			"A proxy is needed to leave this network: hf-oidc uses HTTPS_PROXY and NO_PROXY.",
		), fmt.Sprintf("Run the job again, or raise --timeout (%s) if the Hub is this slow from this runner.", f.timeout)
	case kindNotHub:
		return causes(
			fmt.Sprintf("HF_ENDPOINT (%s) is not the Hub: it answered, but not as the Hub's /oauth/token does. It must be the Hub's root URL, without /oauth/token or /api; %s", endpoint, public),
			"A proxy, captive portal or firewall answered in the Hub's place.",
			"The Hub changed how it answers: update hf-oidc.",
		), fmt.Sprintf("Check that HF_ENDPOINT (%s) is the Hub's root URL; %s", endpoint, public)
	}
	return causes(
		fmt.Sprintf("HF_ENDPOINT (%s) is wrong, or not reachable from this runner.", endpoint),
		"A proxy is needed or in the way: hf-oidc uses HTTPS_PROXY and NO_PROXY.",
		"The connection broke on the way: a proxy, firewall or load balancer closed it. Run the job again.",
	), "Check that HF_ENDPOINT points at the Hub and that it is reachable from this runner (proxies come from HTTPS_PROXY and NO_PROXY)."
}

// mintNext is the Next: step, without its link, after the provider's
// request for an ID token failed on the network; ok is false for any
// other failure, which the provider's own words explain. The CI sets
// where the token comes from: the runner's network is at fault.
func mintNext(provider string, err error) (next string, ok bool) {
	var what string
	switch netKind(err) {
	case kindRefused:
		what = "its ID-token endpoint refused the connection"
	case kindNoHost:
		what = "DNS says its ID-token endpoint's host does not exist"
	case kindDNS:
		what = "the runner's DNS did not resolve its ID-token endpoint"
	case kindHostname:
		what = "its ID-token endpoint's certificate names another host"
	case kindTLS:
		what = "the TLS handshake with its ID-token endpoint failed"
	case kindProxy:
		what = "the proxy in the way failed"
	case kindTimeout:
		what = "its ID-token endpoint did not answer in time"
	default:
		return "", false
	}
	return fmt.Sprintf("the %s provider could not be asked for an ID token (%s), so nothing was sent to the Hub. The CI sets where to ask: check the runner's network, its proxy (HTTPS_PROXY, NO_PROXY) and firewall, and run the job again.", provider, what), true
}

// netAnchors are the kinds' entries on the troubleshooting page.
var netAnchors = map[string]diag.Anchor{
	kindNotHub:    diag.AnchorNotTheHub,
	kindUntrusted: diag.AnchorTLSUntrusted,
	kindHostname:  diag.AnchorTLSHostname,
	kindTLS:       diag.AnchorTLSHandshake,
	kindProxy:     diag.AnchorProxy,
	kindNoHost:    diag.AnchorNoSuchHost,
	kindDNS:       diag.AnchorNoSuchHost,
	kindRefused:   diag.AnchorConnectionRefused,
	kindTimeout:   diag.AnchorHubTimeout,
	kindOther:     diag.AnchorHubUnreachable,
}

// endpointHost is the endpoint's host and port, as a connection names them.
func endpointHost(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return endpoint
	}
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "http" {
		return u.Host + ":80"
	}
	return u.Host + ":443"
}

// hostname is host without its port.
func hostname(host string) string {
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		return strings.Trim(host[:i], "[]")
	}
	return host
}

// proxyFor is the proxy the failed requests went through, for the
// causes to name: the one in a proxy's error, else HTTPS_PROXY, without
// credentials.
func proxyFor(getenv func(string) string, errs []error) string {
	for _, err := range errs {
		var pe *retry.ProxyError
		if errors.As(err, &pe) {
			return pe.Proxy
		}
	}
	for _, name := range []string{"HTTPS_PROXY", "https_proxy"} {
		if v := getenv(name); v != "" {
			if u, err := url.Parse(v); err == nil && u.Host != "" {
				return transport.Redact(u)
			}
			return name
		}
	}
	return ""
}
