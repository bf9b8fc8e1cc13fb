// Command hfchild is the command hf-oidc exec runs in the end-to-end tests:
// a stand-in for a long job, which reads tokens only from the files exec
// names, so that no token goes through argv (as it would with curl).
//
// Usage: hfchild whoami | sleep DURATION | trap | die | exit N
package main

import (
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: hfchild MODE")
		os.Exit(99)
	}
	code := 0
	switch os.Args[1] {
	case "whoami":
		code = whoami(10 * time.Second)
	case "sleep":
		d, err := time.ParseDuration(os.Args[len(os.Args)-1])
		if err != nil {
			fmt.Println(err)
			code = 99
		}
		time.Sleep(d)
	case "trap":
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM)
		fmt.Println("ready")
		<-sigs
		fmt.Println("got SIGTERM")
		code = 42
	case "die":
		fmt.Println("ready")
		time.Sleep(time.Minute)
	case "exit":
		if len(os.Args) > 2 {
			code, _ = strconv.Atoi(os.Args[2])
		}
	default:
		fmt.Println("unknown mode", os.Args[1])
		code = 99
	}
	os.Exit(code)
}

// whoami calls the Hub's whoami with the token of every file exec names,
// every half second, until the file $HF_OIDC_E2E_STOP exists or for at
// most limit. It prints "ok N" when every call was accepted; never a token.
func whoami(limit time.Duration) int {
	if os.Getenv("HF_TOKEN") != "" || os.Getenv("HUGGING_FACE_HUB_TOKEN") != "" {
		fmt.Println("FAIL: HF_TOKEN is in the environment")
		return 1
	}
	files := []string{os.Getenv("HF_TOKEN_PATH")}
	for _, kv := range os.Environ() {
		if name, v, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "HF_") && strings.HasSuffix(name, "_FILE") {
			files = append(files, v)
		}
	}
	calls := 0
	for start := time.Now(); time.Since(start) < limit; time.Sleep(500 * time.Millisecond) {
		if _, err := os.Stat(os.Getenv("HF_OIDC_E2E_STOP")); err == nil {
			break
		}
		for _, f := range files {
			tok, err := os.ReadFile(f)
			if err != nil || len(tok) == 0 {
				fmt.Printf("FAIL: after %d calls %s is missing or empty: %v\n", calls, f, err)
				return 1
			}
			req, err := http.NewRequest(http.MethodGet, os.Getenv("HF_ENDPOINT")+"/api/whoami-v2", nil)
			if err != nil {
				fmt.Printf("FAIL: %v\n", err)
				return 1
			}
			req.Header.Set("Authorization", "Bearer "+string(tok))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				fmt.Printf("FAIL: whoami: %v\n", err)
				return 1
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				fmt.Printf("FAIL: after %d calls whoami rejected the token in %s: %d\n", calls, filepath.Base(f), resp.StatusCode)
				return 1
			}
			calls++
		}
	}
	fmt.Printf("ok %d\n", calls)
	return 0
}
