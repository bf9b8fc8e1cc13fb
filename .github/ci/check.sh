#!/usr/bin/env bash
# CI only: checks what the action exported: each token set and accepted by
# the sandbox's whoami (the token goes to curl on stdin, never in argv), the
# expires-at output, and hf-oidc on PATH for later steps.
set -euo pipefail
for v in HF_TOKEN HF_TOKEN_ACME_AWESOME_MODEL; do
	if [ -z "${!v:-}" ]; then
		echo "::error::$v is not set"
		exit 1
	fi
	printf 'header = "Authorization: Bearer %s"\n' "${!v}" |
		curl --fail --silent --show-error --config - "$HF_ENDPOINT/api/whoami-v2" >/dev/null
	echo "$v works against the sandbox's whoami"
done
if ! [[ ${OUT_EXPIRES_AT:-} =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]; then
	echo "::error::the expires-at output is '${OUT_EXPIRES_AT:-}'"
	exit 1
fi
hf-oidc version
