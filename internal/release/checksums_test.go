package release

import (
	"bytes"
	"strings"
	"testing"
)

const (
	d1 = "b5f516a10c85257c54bedaef1d580ec248a197d8d28eec25538bb055ca7967f8"
	d2 = "4637ddf52ea2f05b3bdad9e0ffec182acd3929da34c5602f207e662b8bf4cf47"
)

func TestChecksumsFormat(t *testing.T) {
	t.Parallel()
	c := Checksums{{d2, "hf-oidc_v1.0.0_windows_arm64.zip"}, {d1, "hf-oidc_v1.0.0_linux_amd64.tar.gz"}}
	want := d1 + "  hf-oidc_v1.0.0_linux_amd64.tar.gz\n" + d2 + "  hf-oidc_v1.0.0_windows_arm64.zip\n"
	if got := string(c.Format()); got != want {
		t.Errorf("Format:\n%s\nwant:\n%s", got, want)
	}
	if s := Sum("x", []byte("abc")); s.Digest != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Sum(abc) = %s", s.Digest)
	}
}

func TestParseChecksums(t *testing.T) {
	t.Parallel()
	good := d1 + "  hf-oidc_v1.0.0_linux_amd64.tar.gz\n"
	cases := []struct {
		name, in, wantErr string
	}{
		{"one line", good, ""},
		{"no final newline", strings.TrimSuffix(good, "\n"), ""},
		{"windows line endings", strings.ReplaceAll(good, "\n", "\r\n"), ""},
		{"empty", "", "the file is empty"},
		{"one space", d1 + " hf-oidc_v1.0.0_linux_amd64.tar.gz\n", "two spaces"},
		{"binary marker", d1 + " *hf-oidc_v1.0.0_linux_amd64.tar.gz\n", "two spaces"},
		{"upper-case digest", strings.ToUpper(d1) + "  hf-oidc_v1.0.0_linux_amd64.tar.gz\n", "lowercase hex"},
		{"short digest", d1[:63] + "  hf-oidc_v1.0.0_linux_amd64.tar.gz\n", "not a SHA-256"},
		{"path in the name", d1 + "  ../hf-oidc_v1.0.0_linux_amd64.tar.gz\n", "not an hf-oidc release asset name"},
		{"other file", d1 + "  install.sh\n", "not an hf-oidc release asset name"},
		{"blank line", good + "\n" + good, "line 2"},
		{"duplicate", good + good, "listed twice"},
	}
	for _, c := range cases {
		got, err := ParseChecksums([]byte(c.in))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if d, ok := got.Lookup("hf-oidc_v1.0.0_linux_amd64.tar.gz"); !ok || d != d1 {
			t.Errorf("%s: Lookup = %q, %v", c.name, d, ok)
		}
	}
}

func FuzzParseChecksums(f *testing.F) {
	f.Add([]byte(d1 + "  hf-oidc_v1.0.0_linux_amd64.tar.gz\n" + d2 + "  hf-oidc_v1.0.0_windows_arm64.zip\n"))
	f.Add([]byte(d1 + "  hf-oidc_v1.0.0_linux_amd64.tar.gz\r\n"))
	f.Add([]byte(""))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseChecksums(data)
		if err != nil {
			return
		}
		// Whatever parses survives a round trip, and never holds a name a
		// shell or a URL would read differently.
		again, err := ParseChecksums(c.Format())
		if err != nil {
			t.Fatalf("Format's output does not parse: %v", err)
		}
		if diff := Diff(c, again); len(diff) > 0 || len(again) != len(c) {
			t.Fatalf("round trip changed the checksums: %v", diff)
		}
		for _, s := range c {
			if strings.ContainsAny(s.Name, " /\\\r\n\t*?$`'\"") {
				t.Errorf("accepted name %q", s.Name)
			}
		}
		if !bytes.HasSuffix(c.Format(), []byte("\n")) {
			t.Errorf("Format does not end in a newline")
		}
	})
}

func TestDiff(t *testing.T) {
	t.Parallel()
	a := Checksums{{d1, "hf-oidc_v1.0.0_linux_amd64.tar.gz"}, {d2, "hf-oidc_v1.0.0_linux_arm64.tar.gz"}}
	if d := Diff(a, a); len(d) != 0 {
		t.Errorf("Diff of equal checksums: %v", d)
	}
	b := Checksums{{d2, "hf-oidc_v1.0.0_linux_amd64.tar.gz"}, {d1, "hf-oidc_v1.0.0_darwin_arm64.tar.gz"}}
	got := strings.Join(Diff(a, b), "\n")
	for _, want := range []string{
		"hf-oidc_v1.0.0_linux_amd64.tar.gz: committed sha256 " + d1 + ", built " + d2,
		"hf-oidc_v1.0.0_linux_arm64.tar.gz: committed, but not built",
		"hf-oidc_v1.0.0_darwin_arm64.tar.gz: built, but not committed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Diff lacks %q:\n%s", want, got)
		}
	}
}
