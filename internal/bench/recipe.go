package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// recipeScript is the recipe the Hub's documentation gives for GitHub
// Actions: curl the ID token, then one curl POST per resource, one after
// another, jq pulling out the token. Unlike a copy-pasted recipe it keeps
// every secret out of argv: printf is a bash builtin, and curl reads headers
// and bodies from stdin.
const recipeScript = `set -euo pipefail
id_token=$(printf 'Authorization: Bearer %s\n' "$ACTIONS_ID_TOKEN_REQUEST_TOKEN" |
  curl -sSf -H @- "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=https://huggingface.co" | jq -r .value)
i=0
for resource in "$@"; do
  token=$(printf '{"grant_type":"urn:ietf:params:oauth:grant-type:token-exchange","subject_token_type":"urn:ietf:params:oauth:token-type:id_token","subject_token":"%s","resource":"%s"}' "$id_token" "$resource" |
    curl -sSf -X POST -H 'Content-Type: application/json' --data @- "$HF_ENDPOINT/oauth/token" | jq -r .access_token)
  printf '::add-mask::%s\n' "$token"
  printf 'HF_TOKEN_%d=%s\n' "$i" "$token" >>"$GITHUB_ENV"
  i=$((i + 1))
done
`

// writeRecipe writes the recipe into dir and returns its path, or "" and a
// note saying why the comparison is skipped.
func writeRecipe(dir string) (path, note string) {
	var missing []string
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Sprintf("curl+jq comparison skipped: %s not found in PATH", strings.Join(missing, ", "))
	}
	path = filepath.Join(dir, "recipe.sh")
	if err := os.WriteFile(path, []byte(recipeScript), 0o600); err != nil {
		return "", fmt.Sprintf("curl+jq comparison skipped: writing the recipe: %v", err)
	}
	return path, ""
}
