package release

import (
	"strings"
	"testing"
)

func TestAssetName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		p          Platform
		want, exec string
	}{
		{Platform{"linux", "amd64"}, "hf-oidc_v1.2.3_linux_amd64.tar.gz", "hf-oidc"},
		{Platform{"darwin", "arm64"}, "hf-oidc_v1.2.3_darwin_arm64.tar.gz", "hf-oidc"},
		{Platform{"windows", "arm64"}, "hf-oidc_v1.2.3_windows_arm64.zip", "hf-oidc.exe"},
	}
	for _, c := range cases {
		if got := AssetName("v1.2.3", c.p); got != c.want {
			t.Errorf("AssetName(%s) = %q, want %q", c.p, got, c.want)
		}
		if got := BinaryName(c.p); got != c.exec {
			t.Errorf("BinaryName(%s) = %q, want %q", c.p, got, c.exec)
		}
	}
	for _, p := range Platforms {
		if name := AssetName("v0.1.0-rc.1", p); !assetPattern.MatchString(name) {
			t.Errorf("ParseChecksums would refuse the asset name %q", name)
		}
	}
}

func TestParsePlatforms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      string
		want    string
		wantErr string
	}{
		{"", "linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64", ""},
		{"all", "linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64", ""},
		{"linux/amd64", "linux/amd64", ""},
		{"windows/arm64, linux/amd64,windows/arm64", "windows/arm64 linux/amd64", ""},
		{"linux/386", "", `platform "linux/386": expected one of linux/amd64`},
		{"linux", "", `platform "linux"`},
		{"linux/amd64,", "", `platform ""`},
	}
	for _, c := range cases {
		ps, err := ParsePlatforms(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParsePlatforms(%q) error = %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePlatforms(%q): %v", c.in, err)
			continue
		}
		var names []string
		for _, p := range ps {
			names = append(names, p.String())
		}
		if got := strings.Join(names, " "); got != c.want {
			t.Errorf("ParsePlatforms(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func FuzzParsePlatforms(f *testing.F) {
	for _, s := range []string{"", "all", "linux/amd64", "windows/arm64,darwin/amd64", "x/y", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePlatforms(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !supported(p) {
				t.Errorf("ParsePlatforms(%q) returned unsupported %s", s, p)
			}
		}
	})
}

func TestCheckVersion(t *testing.T) {
	t.Parallel()
	for v, ok := range map[string]bool{
		"v0.1.0": true, "v1.2.3": true, "v10.20.30-rc.1": true, "v1.0.0-beta-2": true,
		"1.2.3": false, "v1.2": false, "v1": false, "v01.2.3": false, "v1.2.3 ": false,
		"v1.2.3/../x": false, "main": false, "": false, "v1.2.3-": false,
	} {
		if err := CheckVersion(v); (err == nil) != ok {
			t.Errorf("CheckVersion(%q) = %v, want ok=%v", v, err, ok)
		}
	}
}
