// Package bench measures the real hf-oidc binary against the sandbox over
// a delayed loopback network, next to the bare Go client and the
// documented curl and jq recipe, and writes the figures as JSON, Markdown
// and an SVG chart.
//
// # Where the latency goes
//
// A real job talks to two hosts: its CI provider's ID-token service and the
// Hub. At a round trip above zero, each gets a delaying TCP proxy on a
// loopback address of its own (127.0.0.2 and 127.0.0.3; on Linux all of
// 127.0.0.0/8 is loopback), in front of the sandbox, and the tools are
// pointed at the proxies. The proxy holds every chunk it reads for half the
// round trip before writing it on, in each direction, and reads on
// meanwhile, so that a burst is delayed as a whole rather than serialised
// (bandwidth, loss and TCP's slow start are not modelled: the round's few
// tens of kilobytes would fit in a real connection's first windows, bar
// 64 resources, whose requests would take a round trip or two more).
//
// TCP's own handshake needs care: the kernel accepts a loopback connection
// at once, so a client's connect returns at once too, and it sends its
// first bytes (a TLS hello) straight away. On a network, the SYN and SYN-ACK
// take a round trip before connect returns and the client can send. So the
// proxy holds what the client sends until a whole round trip after the
// accept, then the half round trip of its way: the server hears the hello
// one and a half round trips after the connect began, as it would. (The
// client believes it is connected early, which changes nothing it does.)
// The server's answers take half a round trip back. A TLS 1.3 connection
// and one request thus cost three round trips, as on a network: connect,
// handshake, request; HTTP/2's preface adds none, since a client sends its
// first request right behind it.
//
// # The floors
//
// The old floor is two round trips, one ID-token mint and one exchange
// round, as if connections were free (what the sandbox's in-handler
// latency measured). The true floor is what a network allows: the mint
// (connect, handshake, request: three round trips over TLS) or the Hub's
// connection (connect, handshake: two), made meanwhile, whichever is
// longer, then one round trip for every exchange together over HTTP/2:
// four round trips. Without warming the Hub's connection it is six.
//
// At a round trip of zero the tools talk to the sandbox directly.
package bench
