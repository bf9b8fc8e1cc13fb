package export

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestIsTerminal(t *testing.T) {
	t.Parallel()
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	tests := []struct {
		name string
		w    any
		want bool
	}{
		{"buffer", &bytes.Buffer{}, false},
		{"nil file", (*os.File)(nil), false},
		{"regular file", file, false},
		{"pipe", w, false},
		{"null device", null, false},
	}
	// A pseudo-terminal's master side is a character device like a tty.
	if ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0); err == nil {
		defer ptmx.Close()
		tests = append(tests, struct {
			name string
			w    any
			want bool
		}{"pty", ptmx, true})
	}
	for _, tt := range tests {
		w, _ := tt.w.(interface{ Write([]byte) (int, error) })
		if got := IsTerminal(w); got != tt.want {
			t.Errorf("IsTerminal(%s) = %t, want %t", tt.name, got, tt.want)
		}
	}
}
