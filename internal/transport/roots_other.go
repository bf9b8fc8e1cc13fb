//go:build !linux || android

package transport

// systemStore: elsewhere crypto/x509 asks the platform (macOS, Windows) or
// reads other paths; it is left to do so.
func systemStore(func(string) string) (rootStore, bool) { return rootStore{}, false }
