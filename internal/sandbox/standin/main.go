package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".exe")
	if err := run(name, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func run(name string, args []string) error {
	if f := os.Getenv("STANDIN_LOG"); f != "" {
		if err := appendLine(f, strings.Join(append([]string{name}, args...), " ")); err != nil {
			return err
		}
	}
	if msg := os.Getenv("STANDIN_FAIL"); msg != "" {
		return errors.New(msg)
	}
	var (
		query url.Values
		body  string
		err   error
	)
	switch name {
	case "circleci":
		body, err = circleci(args)
	case "buildkite-agent":
		query, err = buildkite(args)
	default:
		return fmt.Errorf("standin plays circleci or buildkite-agent, not %q: install it under one of those names", name)
	}
	if err != nil {
		return err
	}
	tok, err := mint(query, body)
	if err != nil {
		return err
	}
	_, err = io.WriteString(os.Stdout, tok)
	return err
}

// circleci reads `run oidc get [--claims JSON]` and returns the claims,
// which the sandbox checks as CircleCI does.
func circleci(args []string) (string, error) {
	if len(args) < 3 || args[0] != "run" || args[1] != "oidc" || args[2] != "get" {
		return "", fmt.Errorf("unknown command %q for \"circleci\"", strings.Join(args, " "))
	}
	rest := args[3:]
	switch {
	case len(rest) == 0:
		return "", nil
	case len(rest) == 2 && rest[0] == "--claims":
		return rest[1], nil
	case len(rest) == 1 && strings.HasPrefix(rest[0], "--claims="):
		return strings.TrimPrefix(rest[0], "--claims="), nil
	}
	return "", fmt.Errorf("unknown flag in %q: `run oidc get` takes only --claims", strings.Join(rest, " "))
}

// buildkite reads `oidc request-token [--audience A] [--lifetime N]` the way
// the agent's flag parser does.
func buildkite(args []string) (url.Values, error) {
	if len(args) < 2 || args[0] != "oidc" || args[1] != "request-token" {
		//lint:ignore ST1005 the stand-in says what buildkite-agent says, in its words
		return nil, fmt.Errorf("No help topic for %q", strings.Join(args, " "))
	}
	q := url.Values{}
	rest := args[2:]
	for len(rest) > 0 {
		flag, value, inline := strings.Cut(rest[0], "=")
		rest = rest[1:]
		param := map[string]string{"--audience": "aud", "--lifetime": "lifetime"}[flag]
		if param == "" {
			//lint:ignore ST1005 the stand-in says what buildkite-agent says, in its words
			return nil, fmt.Errorf("Incorrect Usage: flag provided but not defined: %s", strings.TrimPrefix(flag, "-"))
		}
		if !inline {
			if len(rest) == 0 {
				//lint:ignore ST1005 the stand-in says what buildkite-agent says, in its words
				return nil, fmt.Errorf("Incorrect Usage: flag needs an argument: %s", flag)
			}
			value, rest = rest[0], rest[1:]
		}
		q.Set(param, value)
	}
	return q, nil
}

// mint asks the sandbox for a token; the secret travels in a header, never
// on a command line.
func mint(query url.Values, body string) (string, error) {
	endpoint, secret := os.Getenv("SANDBOX_MINT_URL"), os.Getenv("SANDBOX_MINT_SECRET")
	if endpoint == "" || secret == "" {
		return "", errors.New("SANDBOX_MINT_URL and SANDBOX_MINT_SECRET must be set (see sandbox.Env)")
	}
	method := http.MethodGet
	if body != "" {
		method = http.MethodPost
	}
	u := endpoint
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		// The sandbox's error answers hold no secret.
		return "", fmt.Errorf("the sandbox answered %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(f, line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
