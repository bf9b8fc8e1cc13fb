package exchange

import (
	"strings"
	"testing"
)

func TestCheckEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw     string
		want    string // the URL returned, or a part of the error
		wantErr bool
	}{
		{raw: "https://huggingface.co", want: "https://huggingface.co"},
		{raw: "https://huggingface.co/", want: "https://huggingface.co"},
		{raw: "  HTTPS://hub.example.com:8443/prefix//\n", want: "https://hub.example.com:8443/prefix"},
		{raw: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{raw: "http://127.1.2.3", want: "http://127.1.2.3"},
		{raw: "http://[::1]:9000", want: "http://[::1]:9000"},
		{raw: "http://[::ffff:127.0.0.1]:9000", want: "http://[::ffff:127.0.0.1]:9000"},
		{raw: "http://LocalHost:3000/", want: "http://LocalHost:3000"},
		{raw: "", wantErr: true, want: "the endpoint is empty"},
		{raw: "huggingface.co", wantErr: true, want: `"huggingface.co" has no scheme`},
		{raw: "ftp://huggingface.co", wantErr: true, want: "has the scheme ftp"},
		{raw: "https:huggingface.co", wantErr: true, want: "has no host"},
		{raw: "https://", wantErr: true, want: "has no host"},
		{raw: "https://:443", wantErr: true, want: "has no host"},
		{raw: "http://huggingface.co", wantErr: true, want: "uses http:// for a host that is not a loopback address"},
		{raw: "http://128.0.0.1", wantErr: true, want: "not a loopback address"},
		{raw: "http://localhost.evil.example", wantErr: true, want: "not a loopback address"},
		{raw: "http://[::2]", wantErr: true, want: "not a loopback address"},
		{raw: "https://user:hunter2secret@huggingface.co", wantErr: true, want: "must not hold a user name or password"},
		{raw: "user:hunter2secret@huggingface.co", wantErr: true, want: `"…huggingface.co" has the scheme user`},
		{raw: "https:///user:hunter2secret@huggingface.co", wantErr: true, want: "has no host"},
		{raw: "https://huggingface.co/?x=1", wantErr: true, want: `"https://huggingface.co/" must not have a query`},
		{raw: "https://huggingface.co?", wantErr: true, want: "must not have a query"},
		{raw: "https://huggingface.co/#top", wantErr: true, want: "must not have a fragment"},
		{raw: "https://huggingface.co#", wantErr: true, want: "must not have a fragment"},
		{raw: "https://hugging face.co", wantErr: true, want: "not a valid URL"},
		{raw: "https://huggingface.co:port", wantErr: true, want: "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			u, err := CheckEndpoint(tt.raw)
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if u.String() != tt.want {
					t.Errorf("got %q, want %q", u, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted as %q", u)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || !strings.Contains(msg, "HF_ENDPOINT or --endpoint") {
				t.Errorf("error %q does not contain %q and the rule", msg, tt.want)
			}
			if strings.Contains(msg, "hunter2secret") || strings.Contains(msg, "x=1") {
				t.Errorf("error %q quotes a password or query", msg)
			}
		})
	}
}
