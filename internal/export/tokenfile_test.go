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

// privateWriters are the two ways a file beside the tokens is written.
var privateWriters = []struct {
	name  string
	write func(path, data string) error
}{
	{"WriteTokenFile", WriteTokenFile},
	{"WritePrivateFile", func(path, data string) error { return WritePrivateFile(path, []byte(data)) }},
}

// TestFailedWriteLeavesNoTokenBehind: when the rename fails, the temporary
// file that holds the token is removed, so that no copy of the token stays
// in the directory under a name nobody cleans up.
func TestFailedWriteLeavesNoTokenBehind(t *testing.T) {
	t.Parallel()
	const secret = "hf_leaked_if_the_temp_file_stays"
	// The target is a directory, so the rename fails after the temporary
	// file holding the token was written beside it.
	targets := []struct {
		name   string
		inside []string // files already in the target directory
	}{
		{"empty directory", nil},
		{"directory with a file", []string{"x"}},
	}
	for _, w := range privateWriters {
		for _, target := range targets {
			t.Run(w.name+"/"+target.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				path := filepath.Join(dir, "token")
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, name := range target.inside {
					p := filepath.Join(path, name)
					if err := os.WriteFile(p, []byte(name), 0o600); err != nil {
						t.Fatal(err)
					}
					want = append(want, p)
				}
				if err := w.write(path, secret); err == nil {
					t.Fatal("writing over a directory succeeded")
				}
				var left []string
				err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
					if err != nil || e.IsDir() {
						return err
					}
					left = append(left, p)
					if b, err := os.ReadFile(p); err != nil || strings.Contains(string(b), secret) {
						t.Errorf("%s holds the token (%v)", p, err)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(left, "\n") != strings.Join(want, "\n") {
					t.Errorf("after the failed write the directory holds %q, want %q", left, want)
				}
			})
		}
	}
}

// TestWritePrivateFile: the status file's writer reports a failure as one
// and a success as none, and a failure creates nothing.
func TestWritePrivateFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) string // returns the path to write
		wantErr bool
		noRoot  bool // root writes into read-only directories
	}{
		{"new file", func(t *testing.T, dir string) string { return filepath.Join(dir, "status.json") }, false, false},
		{"replaces a file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "status.json")
			if err := os.WriteFile(p, []byte("old contents, longer than the new"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, false, false},
		{"missing directory", func(t *testing.T, dir string) string { return filepath.Join(dir, "missing", "status.json") }, true, false},
		{"path is a directory", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "status.json")
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			return p
		}, true, false},
		{"read-only directory", func(t *testing.T, dir string) string {
			ro := filepath.Join(dir, "ro")
			if err := os.Mkdir(ro, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(ro, 0o700) })
			return filepath.Join(ro, "status.json")
		}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.noRoot && (!permsMatter || os.Getuid() == 0) {
				t.Skip("mode bits do not stop this user writing")
			}
			dir := t.TempDir()
			path := tt.setup(t, dir)
			const data = `{"state":"running"}`
			err := WritePrivateFile(path, []byte(data))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "writing "+path) {
					t.Fatalf("WritePrivateFile = %v, want an error naming %s", err, path)
				}
				if b, err := os.ReadFile(path); err == nil {
					t.Errorf("after the failure the path holds %q", b)
				}
				return
			}
			if err != nil {
				t.Fatalf("WritePrivateFile = %v", err)
			}
			if b, err := os.ReadFile(path); err != nil || string(b) != data {
				t.Errorf("file holds %q, %v; want %q", b, err, data)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("directory holds %v, want only the file", ents)
			}
		})
	}
}

// TestPrivateModes pins the modes that keep tokens from other users: a
// file is 0600 even where one readable by others stood before, and a new
// token directory, with any directory made on the way to it, is 0700.
func TestPrivateModes(t *testing.T) {
	t.Parallel()
	if !permsMatter {
		t.Skip("mode bits do not show access here")
	}
	for _, w := range privateWriters {
		for _, before := range []fs.FileMode{0, 0o644, 0o666} {
			t.Run(fmt.Sprintf("%s over %#o", w.name, before), func(t *testing.T) {
				t.Parallel()
				path := filepath.Join(t.TempDir(), "token")
				if before != 0 {
					if err := os.WriteFile(path, []byte("old"), before); err != nil {
						t.Fatal(err)
					}
					if err := os.Chmod(path, before); err != nil { // past the umask
						t.Fatal(err)
					}
				}
				if err := w.write(path, "hf_new"); err != nil {
					t.Fatal(err)
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode() != 0o600 {
					t.Errorf("mode %v, want -rw-------", fi.Mode())
				}
			})
		}
	}
	t.Run("EnsureDir", func(t *testing.T) {
		t.Parallel()
		base := t.TempDir()
		if err := EnsureDir(filepath.Join(base, "a", "b")); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{filepath.Join(base, "a"), filepath.Join(base, "a", "b")} {
			fi, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != fs.ModeDir|0o700 {
				t.Errorf("%s has mode %v, want drwx------", p, fi.Mode())
			}
		}
	})
}

// TestWriteSyncedReportsFailedWrite: a token file whose bytes did not all
// reach the file is an error, whatever the sync and close that follow
// say, so that WriteTokenFile never renames a short file into place.
func TestWriteSyncedReportsFailedWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		readOnly bool
		wantErr  bool
	}{
		{"write refused", true, true},
		{"write accepted", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			flag := os.O_WRONLY
			if tt.readOnly {
				flag = os.O_RDONLY
			}
			f, err := os.OpenFile(path, flag, 0)
			if err != nil {
				t.Fatal(err)
			}
			err = writeSynced(f, []byte("hf_secret"))
			if (err != nil) != tt.wantErr {
				t.Fatalf("writeSynced = %v, want an error: %t", err, tt.wantErr)
			}
			b, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			if want := map[bool]string{false: "hf_secret", true: ""}[tt.wantErr]; string(b) != want {
				t.Errorf("file holds %q, want %q", b, want)
			}
		})
	}
}
