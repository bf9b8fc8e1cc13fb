package export

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestWriteTokenFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	for _, tok := range []string{"hf_first", "hf_second_longer", "hf_x"} {
		if err := WriteTokenFile(path, tok); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || string(b) != tok {
			t.Fatalf("file holds %q, %v; want %q", b, err, tok)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if permsMatter && fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %#o, want 0600", fi.Mode().Perm())
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d files, want only the token file", len(ents))
	}
}

func TestWriteTokenFileFails(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name, path, token, want string
	}{
		{"empty token", filepath.Join(dir, "t"), "", "refusing to write an empty token"},
		{"no directory", filepath.Join(dir, "missing", "t"), "hf_secret", "writing token file " + filepath.Join(dir, "missing", "t")},
		{"path is a directory", dir, "hf_secret", "writing token file " + dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := WriteTokenFile(tt.path, tt.token)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("WriteTokenFile = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hf_secret") {
				t.Errorf("error holds the token: %v", err)
			}
		})
	}
	// A failed rename leaves no temporary file behind.
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left %v behind", ents)
	}
}

// TestWriteTokenFileAtomic rewrites the file while another goroutine reads
// it as fast as it can: every read must see one whole token.
func TestWriteTokenFileAtomic(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "token")
	token := func(i int) string { return fmt.Sprintf("hf_%d_%s", i, strings.Repeat("x", i%300)) }
	if err := WriteTokenFile(path, token(0)); err != nil {
		t.Fatal(err)
	}
	var done atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("read %d: %v", reads.Load(), err)
				return
			}
			var i int
			if _, err := fmt.Sscanf(string(b), "hf_%d_", &i); err != nil || string(b) != token(i) {
				t.Errorf("read %d saw %d bytes %.40q…, not a whole token", reads.Load(), len(b), b)
				return
			}
			reads.Add(1)
		}
	}()
	for i := 1; i <= 1000; i++ {
		if err := WriteTokenFile(path, token(i)); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	if reads.Load() == 0 {
		t.Error("the reader never ran")
	}
	t.Logf("%d reads", reads.Load())
}

func TestEnsureDir(t *testing.T) {
	t.Parallel()
	if !permsMatter {
		t.Skip("mode bits do not show access here")
	}
	base := t.TempDir()
	mk := func(name string, mode fs.FileMode) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(mk("target", 0o700), link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, want string
	}{
		{"new, nested", filepath.Join(base, "a", "b"), ""},
		{"existing private", mk("private", 0o700), ""},
		{"group readable", mk("group", 0o750), "has mode 0750, so others can reach the tokens in it; run chmod 700"},
		{"world writable", mk("world", 0o777), "has mode 0777"},
		{"group executable only", mk("gx", 0o710), "has mode 0710"},
		{"symlink", link, "is a symbolic link"},
		{"file", file, "creating token directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := EnsureDir(tt.dir)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				fi, err := os.Stat(tt.dir)
				if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
					t.Fatalf("after EnsureDir: %v, %v", fi, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.dir) {
				t.Fatalf("EnsureDir = %v, want an error naming the directory and containing %q", err, tt.want)
			}
		})
	}
}

func TestCheckPrivateOwner(t *testing.T) {
	t.Parallel()
	if !permsMatter {
		t.Skip("no owners here")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := fileOwner(fi)
	if err := checkPrivate(dir, fi, owner); err != nil {
		t.Fatalf("our own directory: %v", err)
	}
	err = checkPrivate(dir, fi, owner+1)
	if !errors.Is(err, errNotPrivate) || !strings.Contains(err.Error(), fmt.Sprintf("belongs to user %d, not to us (%d)", owner, owner+1)) {
		t.Fatalf("someone else's directory: %v", err)
	}
}
