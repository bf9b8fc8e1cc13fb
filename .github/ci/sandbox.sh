#!/usr/bin/env bash
# CI only: starts hf-oidc's sandbox in the background and hands later steps
# its variables, so that the action exchanges against it: the sandbox's
# GitHub-style ID-token endpoint stands in for GitHub's (the job has no
# id-token permission), and its Hub for huggingface.co.
set -euo pipefail
exe=
[ "${RUNNER_OS:-}" = Windows ] && exe=.exe
bin=$RUNNER_TEMP/hf-oidc-sandbox$exe
out=$RUNNER_TEMP/sandbox.out
go build -o "$bin" ./cmd/hf-oidc
nohup "$bin" sandbox --trust acme/awesome-model --trust datasets/acme/awesome-dataset </dev/null >"$out" 2>&1 &
for _ in $(seq 300); do
	grep -q "^# A GitHub Actions job" "$out" && break
	sleep 0.1
done
# The sandbox writes, for a job like this one (GITHUB_ACTIONS set by the
# runner, no id-token permission), the variables that make its
# GitHub-style ID-token endpoint stand in for GitHub's.
file=$(sed -n "s/^# A GitHub Actions job.*: cat '\(.*\)' >> .*/\1/p" "$out")
vars=
[ -z "$file" ] || vars=$(cat "$file")
[ -n "$vars" ] || { cat "$out"; echo "::error::the sandbox did not start"; exit 1; }
# The request token is the sandbox's own throwaway secret: masked all the same.
echo "::add-mask::$(printf '%s\n' "$vars" | sed -n 's/^ACTIONS_ID_TOKEN_REQUEST_TOKEN=//p')"
printf '%s\n' "$vars" >>"$GITHUB_ENV"
printf '%s\n' "$vars" | cut -d= -f1 | sed 's/^/exported /'
