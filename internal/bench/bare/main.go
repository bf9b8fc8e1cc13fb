// Command bare does an exchange round's protocol work and nothing else, as
// a yardstick for the benchmark: the GitHub ID-token request, one POST per
// resource, all at once over Go's default client (which shares one HTTP/2
// connection and trusts the system's roots as crypto/x509 reads them),
// then a mask and a GITHUB_ENV line per token. No retries, checks,
// diagnostics or configuration: what hf-oidc costs beyond it is what its
// care costs.
//
//	bare RESOURCE...
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func run(resources []string) error {
	req, err := http.NewRequest(http.MethodGet, os.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL")+"&audience=https://huggingface.co", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+os.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
	var id struct{ Value string }
	if err := do(req, &id); err != nil {
		return fmt.Errorf("ID token: %w", err)
	}
	tokens := make([]string, len(resources))
	errs := make([]error, len(resources))
	var wg sync.WaitGroup
	for i, r := range resources {
		wg.Go(func() {
			body, _ := json.Marshal(map[string]string{
				"grant_type":         "urn:ietf:params:oauth:grant-type:token-exchange",
				"subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
				"subject_token":      id.Value,
				"resource":           r,
			})
			req, err := http.NewRequest(http.MethodPost, os.Getenv("HF_ENDPOINT")+"/oauth/token", bytes.NewReader(body))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			errs[i] = do(req, &tok)
			tokens[i] = tok.AccessToken
		})
	}
	wg.Wait()
	var masks, env strings.Builder
	for i, t := range tokens {
		if errs[i] != nil {
			return fmt.Errorf("%s: %w", resources[i], errs[i])
		}
		fmt.Fprintf(&masks, "::add-mask::%s\n", t)
		fmt.Fprintf(&env, "HF_TOKEN_%d=%s\n", i, t)
	}
	os.Stdout.WriteString(masks.String())
	f, err := os.OpenFile(os.Getenv("GITHUB_ENV"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(env.String()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// do sends req and decodes a 200's JSON body into v. Errors never quote
// the body: it may hold a token.
func do(req *http.Request, v any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
