package refresh

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hf-oidc/hf-oidc/internal/exchange"
	"github.com/hf-oidc/hf-oidc/internal/resource"
)

// openTemp opens a new token directory under the test's temporary one.
func openTemp(t *testing.T) *Dir {
	t.Helper()
	d, err := OpenDir(filepath.Join(t.TempDir(), "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFileName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"acme/awesome-model":            "acme--awesome-model.token",
		"datasets/acme/awesome-dataset": "datasets--acme--awesome-dataset.token",
		"spaces/acme/demo":              "spaces--acme--demo.token",
		"kernels/acme/flash":            "kernels--acme--flash.token",
		"acme-bot":                      "acme-bot.token",
	} {
		if got := FileName(name); got != want {
			t.Errorf("FileName(%q) = %q, want %q", name, got, want)
		}
	}
}

// FuzzFileName: two resources Parse accepts never share a file, and a
// file name never leaves the directory.
func FuzzFileName(f *testing.F) {
	f.Add("acme/a-b", "acme-a/b")
	f.Add("acme/a", "acme--a")
	f.Add("datasets/x/y", "x/y")
	f.Fuzz(func(t *testing.T, a, b string) {
		ra, errA := resource.Parse(a)
		rb, errB := resource.Parse(b)
		if errA != nil || errB != nil {
			return
		}
		fa, fb := FileName(ra.Name), FileName(rb.Name)
		if strings.ContainsAny(fa, `/\`) || fa == "."+tokenSuffix || strings.HasPrefix(fa, ".") {
			t.Fatalf("FileName(%q) = %q", ra.Name, fa)
		}
		if ra.Name != rb.Name && fa == fb {
			t.Fatalf("%q and %q share the file %q", ra.Name, rb.Name, fa)
		}
	})
}

func TestOpenDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	d, err := OpenDir(filepath.Join(base, "a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(d.Path); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory: %v, %v", fi, err)
	}
	if !filepath.IsAbs(d.Path) {
		t.Errorf("Path %q is not absolute", d.Path)
	}
	if d.Gone() {
		t.Error("Gone right after OpenDir")
	}
	open := filepath.Join(base, "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755)
	if _, err := OpenDir(open); err == nil || !strings.Contains(err.Error(), "chmod 700") {
		t.Errorf("OpenDir of a directory others can enter = %v", err)
	}
}

func TestStatusRoundTrip(t *testing.T) {
	t.Parallel()
	d := openTemp(t)
	if _, err := d.ReadStatus(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadStatus with no file = %v", err)
	}
	cet := time.FixedZone("CET", 3600)
	st := &Status{
		PID: 7, State: StateRunning, Endpoint: "https://huggingface.co",
		LastRefresh: time.Date(2030, 1, 1, 1, 0, 0, 999, cet),
		Tokens:      []TokenStatus{{Resource: "acme/m", Env: "M", File: d.File("acme/m"), ExpiresAt: time.Date(2030, 1, 1, 2, 0, 0, 999_999_999, cet)}},
	}
	if err := d.WriteStatus(st); err != nil {
		t.Fatal(err)
	}
	got, err := d.ReadStatus()
	if err != nil {
		t.Fatal(err)
	}
	// UTC, whole seconds, expiry rounded down.
	if got.LastRefresh.String() != "2030-01-01 00:00:00 +0000 UTC" || got.Tokens[0].ExpiresAt.String() != "2030-01-01 01:00:00 +0000 UTC" {
		t.Errorf("times: %s, %s", got.LastRefresh, got.Tokens[0].ExpiresAt)
	}
	b, _ := os.ReadFile(filepath.Join(d.Path, StatusFile))
	if strings.Contains(string(b), "next_refresh") || strings.Contains(string(b), "last_error") {
		t.Errorf("zero fields are written: %s", b)
	}
	if fi, _ := os.Stat(filepath.Join(d.Path, StatusFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("status mode %#o", fi.Mode().Perm())
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte(`{"pid":1,"state":"running","endpoint":"https://huggingface.co","tokens":[{"resource":"acme/m","env":"M","file":"/t/acme--m.token","expires_at":"2030-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{} {}`))
	f.Add([]byte(`{"tokens":[{"expires_at":"yesterday"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStatus(b)
		if err != nil {
			if st != nil {
				t.Fatal("a status with an error")
			}
			return
		}
		// What parses writes back and parses the same.
		again, err := json.Marshal(st)
		if err != nil {
			return // a time outside what JSON can hold
		}
		if _, err := ParseStatus(again); err != nil {
			t.Fatalf("written status does not parse: %v", err)
		}
	})
}

func TestLoad(t *testing.T) {
	t.Parallel()
	d := openTemp(t)
	rs := resources(t, "acme/a", "acme/b", "acme/c", "acme/d")
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	d.WriteToken("acme/a", "hf_a")
	d.WriteToken("acme/b", "hf_b")
	os.WriteFile(d.File("acme/c"), []byte("hf_c\nsecond line"), 0o600)
	d.WriteToken("acme/d", "hf_d")
	st := &Status{Tokens: []TokenStatus{
		{Resource: "acme/a", File: d.File("acme/a"), ExpiresAt: exp},
		{Resource: "acme/b", File: "/elsewhere/acme--b.token", ExpiresAt: exp}, // not this directory's
		{Resource: "acme/c", File: d.File("acme/c"), ExpiresAt: exp},           // not a token
		// acme/d: no expiry known
	}}
	st.SetOwner(jobA)
	d.WriteStatus(st)
	got := d.Load(rs, jobA)
	if len(got) != 1 || got[0] != (exchange.Token{Resource: "acme/a", AccessToken: "hf_a", TokenType: "bearer", ExpiresAt: exp}) {
		t.Errorf("Load = %v", got)
	}
}

var jobA = Owner{Provider: "github", Job: "GITHUB_RUN_ID=1", Endpoint: "https://huggingface.co", Audience: "https://huggingface.co"}

// TestLoadOnlyForItsOwner is the isolation promise at its root: tokens
// written for one owner are never loaded for another job, another
// pre-minted ID token, another Hub or another audience, nor for an owner
// that names no job at all, and a status without an owner serves no one.
func TestLoadOnlyForItsOwner(t *testing.T) {
	t.Parallel()
	rs := resources(t, "acme/a")
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	with := func(f func(*Owner)) Owner { o := jobA; f(&o); return o }
	preminted := Owner{Provider: "env", IDToken: "h.p.s", Endpoint: jobA.Endpoint, Audience: jobA.Audience}
	tests := []struct {
		name         string
		writer, asks Owner
		want         bool
	}{
		{"the same job", jobA, jobA, true},
		{"another job", jobA, with(func(o *Owner) { o.Job = "GITHUB_RUN_ID=2" }), false},
		{"another provider with the same job string", jobA, with(func(o *Owner) { o.Provider = "gitlab" }), false},
		{"another Hub", jobA, with(func(o *Owner) { o.Endpoint = "https://mirror.example" }), false},
		{"another audience", jobA, with(func(o *Owner) { o.Audience = "https://other.example" }), false},
		{"the same job with a pre-minted token", jobA, with(func(o *Owner) { o.IDToken = "h.p.s" }), false},
		{"the same pre-minted token", preminted, preminted, true},
		{"another pre-minted token", preminted, with(func(o *Owner) { *o = preminted; o.IDToken = "h.p.t" }), false},
		{"no job and no token", Owner{Endpoint: jobA.Endpoint}, Owner{Endpoint: jobA.Endpoint}, false},
		{"a status with no owner", Owner{}, jobA, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := openTemp(t)
			d.WriteToken("acme/a", "hf_a")
			st := &Status{Tokens: []TokenStatus{{Resource: "acme/a", File: d.File("acme/a"), ExpiresAt: exp}}}
			st.SetOwner(tt.writer)
			if err := d.WriteStatus(st); err != nil {
				t.Fatal(err)
			}
			got := d.Load(rs, tt.asks)
			if (len(got) == 1) != tt.want || len(got) > 1 {
				t.Errorf("Load for %+v of a status written for %+v = %v, want a token: %v", tt.asks, tt.writer, got, tt.want)
			}
		})
	}
}

func TestOwnerKeys(t *testing.T) {
	t.Parallel()
	if k := jobA.Key(); len(k) != 64 || strings.Contains(k, "GITHUB") {
		t.Errorf("Key = %q, want 64 hex digits", k)
	}
	secret := Owner{Provider: "env", IDToken: "header.payload.signature"}
	st := &Status{}
	st.SetOwner(secret)
	if strings.Contains(st.Owner+st.Job, "payload") || st.Job == "" || st.Owner == "" {
		t.Errorf("status owner %q, job %q", st.Owner, st.Job)
	}
	// Moving a boundary between fields changes the key.
	a := Owner{Provider: "ab", Job: "c"}
	b := Owner{Provider: "a", Job: "bc"}
	if a.Key() == b.Key() || a.JobKey() == b.JobKey() {
		t.Error("fields are not delimited in the key")
	}
	// The job key ignores the Hub and the audience: one directory per job.
	other := jobA
	other.Endpoint, other.Audience = "https://mirror.example", "x"
	if other.JobKey() != jobA.JobKey() || other.Key() == jobA.Key() {
		t.Error("JobKey must name the job alone, Key everything")
	}
	if (Owner{Endpoint: "https://huggingface.co"}).Key() != "" {
		t.Error("an unknown owner has a key")
	}
}

func TestReject(t *testing.T) {
	t.Parallel()
	d := openTemp(t)
	if d.Rejected("hf_a") {
		t.Fatal("rejected before Reject")
	}
	for range 2 {
		if err := d.Reject("hf_a"); err != nil {
			t.Fatal(err)
		}
	}
	if !d.Rejected("hf_a") || d.Rejected("hf_b") {
		t.Error("Rejected does not match Reject")
	}
	b, _ := os.ReadFile(filepath.Join(d.Path, rejectedFile))
	if strings.Contains(string(b), "hf_a") || strings.Count(string(b), "\n") != 1 {
		t.Errorf("rejected list: %q", b)
	}
	for i := range maxRejected + 5 {
		d.Reject(strings.Repeat("x", i+1))
	}
	if d.Rejected("hf_a") || len(d.rejected()) != maxRejected {
		t.Errorf("the list is not bounded: %d entries", len(d.rejected()))
	}
}

func TestLock(t *testing.T) {
	t.Parallel()
	d := openTemp(t)
	if _, held := d.Holder(); held {
		t.Fatal("held before anyone locked")
	}
	l, err := d.TryLock()
	if err != nil {
		t.Fatal(err)
	}
	pid, held := d.Holder()
	if !held || pid != os.Getpid() {
		t.Errorf("Holder = %d, %v", pid, held)
	}
	var he *HeldError
	if _, err := d.TryLock(); !errors.As(err, &he) || he.PID != os.Getpid() || !strings.Contains(err.Error(), d.Path) {
		t.Errorf("second TryLock = %v", err)
	}
	l.Release()
	if _, held := d.Holder(); held {
		t.Error("held after Release")
	}
	l2, err := d.TryLock()
	if err != nil {
		t.Fatalf("TryLock after Release: %v", err)
	}
	l2.Release()
}

// TestLoadRefusesImplausibleTokens: Load serves a token file only if it
// holds one word of printable ASCII of at most 8 KiB, the edges included,
// so that a damaged or planted file is never sent as a token.
func TestLoadRefusesImplausibleTokens(t *testing.T) {
	t.Parallel()
	const limit = 8 << 10
	tests := []struct {
		name, contents string
		want           bool
	}{
		{"a token", "hf_abc-DEF.123", true},
		{"the lowest printable byte", "hf_!", true},
		{"the highest printable byte", "hf_~", true},
		{"at the size limit", "hf_" + strings.Repeat("x", limit-3), true},
		{"empty", "", false},
		{"a space", "hf_a b", false},
		{"a leading space", " hf_ab", false},
		{"a tab", "hf_a\tb", false},
		{"a newline", "hf_ab\n", false},
		{"a NUL", "hf_a\x00b", false},
		{"a DEL", "hf_a\x7fb", false},
		{"a byte past ASCII", "hf_a\x80b", false},
		{"UTF-8", "hf_é", false},
		{"one byte over the size limit", "hf_" + strings.Repeat("x", limit-2), false},
	}
	rs := resources(t, "acme/a")
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := openTemp(t)
			if err := os.WriteFile(d.File("acme/a"), []byte(tt.contents), 0o600); err != nil {
				t.Fatal(err)
			}
			st := &Status{Tokens: []TokenStatus{{Resource: "acme/a", File: d.File("acme/a"), ExpiresAt: exp}}}
			st.SetOwner(jobA)
			if err := d.WriteStatus(st); err != nil {
				t.Fatal(err)
			}
			got := d.Load(rs, jobA)
			switch {
			case !tt.want && len(got) != 0:
				t.Errorf("Load served %d bytes %.20q…", len(got[0].AccessToken), got[0].AccessToken)
			case tt.want && (len(got) != 1 || got[0].AccessToken != tt.contents):
				t.Errorf("Load = %d tokens, want the file's token", len(got))
			}
		})
	}
}

// TestReadSmallRefusesOversizedFiles: a status or token file larger than
// any the directory writes is an error, never read in part; one at the
// limit is read whole.
func TestReadSmallRefusesOversizedFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		size    int
		wantErr bool
	}{
		{0, false},
		{maxFile - 1, false},
		{maxFile, false},
		{maxFile + 1, true},
		{2 * maxFile, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "f")
			want := make([]byte, tt.size)
			for i := range want {
				want[i] = byte('a' + i%26)
			}
			if err := os.WriteFile(path, want, 0o600); err != nil {
				t.Fatal(err)
			}
			b, err := readSmall(path)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "larger than 64 KiB") {
					t.Fatalf("readSmall of %d bytes = %d bytes, %v; want an error", tt.size, len(b), err)
				}
				return
			}
			if err != nil || !bytes.Equal(b, want) {
				t.Fatalf("readSmall of %d bytes = %d bytes, %v; want the whole file", tt.size, len(b), err)
			}
		})
	}
	// Through ReadStatus: a valid status padded past the limit is refused,
	// not cut back to the valid part.
	d := openTemp(t)
	const status = `{"state":"running","tokens":[]}`
	for _, size := range []int{maxFile, maxFile + 1} {
		padded := status + strings.Repeat(" ", size-len(status))
		if err := os.WriteFile(filepath.Join(d.Path, StatusFile), []byte(padded), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := d.ReadStatus()
		if wantErr := size > maxFile; (err != nil) != wantErr {
			t.Errorf("ReadStatus of %d bytes = %v, want an error: %v", size, err, wantErr)
		}
	}
}

// TestLoadFindsTokensInAnyOrder: the status file's order of resources need
// not be the order asked for, and a resource listed twice is served once.
func TestLoadFindsTokensInAnyOrder(t *testing.T) {
	t.Parallel()
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		listed []string // the status file's tokens, in its order
		ask    []string
	}{
		{"the same order", []string{"acme/a", "acme/b", "acme/c"}, []string{"acme/a", "acme/b", "acme/c"}},
		{"reversed", []string{"acme/c", "acme/b", "acme/a"}, []string{"acme/a", "acme/b", "acme/c"}},
		{"shuffled", []string{"acme/b", "acme/c", "acme/a"}, []string{"acme/c", "acme/a", "acme/b"}},
		{"a subset", []string{"acme/c", "acme/b", "acme/a"}, []string{"acme/a"}},
		{"listed twice", []string{"acme/b", "acme/a", "acme/a"}, []string{"acme/a", "acme/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := openTemp(t)
			st := &Status{}
			for _, name := range tt.listed {
				if err := d.WriteToken(name, "hf_"+strings.TrimPrefix(name, "acme/")); err != nil {
					t.Fatal(err)
				}
				st.Tokens = append(st.Tokens, TokenStatus{Resource: name, File: d.File(name), ExpiresAt: exp})
			}
			st.SetOwner(jobA)
			if err := d.WriteStatus(st); err != nil {
				t.Fatal(err)
			}
			got := d.Load(resources(t, tt.ask...), jobA)
			var names []string
			for _, tok := range got {
				names = append(names, tok.Resource)
				if tok.AccessToken != "hf_"+strings.TrimPrefix(tok.Resource, "acme/") {
					t.Errorf("%s got the token %q", tok.Resource, tok.AccessToken)
				}
			}
			if strings.Join(names, " ") != strings.Join(tt.ask, " ") {
				t.Errorf("Load of %v from a status listing %v = %v", tt.ask, tt.listed, names)
			}
		})
	}
}
