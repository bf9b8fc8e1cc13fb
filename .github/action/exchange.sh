#!/usr/bin/env bash
# Runs hf-oidc for the action: `exchange` for export: env, a detached
# `refresh` keeper for export: file, `exchange` to step outputs only for
# export: none, with --git for git: true and --allow-partial for
# allow-partial: true; timeout and refresh-margin go in hf-oidc's own
# variables. The inputs
# come in the environment and reach hf-oidc as its own variables; hf-oidc
# masks every token before it writes anything, and this script never
# touches one.
set -euo pipefail

fail() {
	local msg="$* (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#packaging-input)"
	printf 'hf-oidc: %s\n' "$msg" >&2
	[ -z "${GITHUB_STEP_SUMMARY:-}" ] || printf '### hf-oidc: bad input\n\n%s\n' "$msg" >>"$GITHUB_STEP_SUMMARY"
	# A workflow command ends at a line break: escape what the runner unescapes.
	msg=${msg//'%'/'%25'}
	msg=${msg//$'\r'/'%0D'}
	msg=${msg//$'\n'/'%0A'}
	printf '::error title=hf-oidc%%3A bad input::%s\n' "$msg"
	exit 2
}

# shown: see lib.sh, shared by the action's scripts.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# trim drops the white space YAML and copy-paste leave around a word.
trim() {
	local v=$1
	v=${v#"${v%%[![:space:]]*}"}
	printf '%s' "${v%"${v##*[![:space:]]}"}"
}

[ -n "${HF_OIDC_BIN:-}" ] || fail "the install step found no hf-oidc binary."
resources=${HF_OIDC_INPUT_RESOURCES:-}
[ -n "${resources//[[:space:],]/}" ] ||
	fail "the resources input is empty. Next: list the Hub resources to get tokens for, one per line (acme/model, datasets/acme/data=HF_DATA_TOKEN, a username …)."
# Inputs reach hf-oidc as its own variables, never as words of a command
# line: hf-oidc checks them, and names the input in its errors.
export HF_OIDC_RESOURCES=$resources
# An empty input leaves the job's own variable, if any, in force.
[ -z "${HF_OIDC_INPUT_AUDIENCE:-}" ] || export HF_OIDC_AUDIENCE=$HF_OIDC_INPUT_AUDIENCE
[ -z "${HF_OIDC_INPUT_ENDPOINT:-}" ] || export HF_ENDPOINT=$HF_OIDC_INPUT_ENDPOINT
# Durations: the shape is checked here, to name the input; hf-oidc checks
# the range, naming its variable.
duration='^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$'
timeout=$(trim "${HF_OIDC_INPUT_TIMEOUT:-}")
if [ -n "$timeout" ]; then
	[[ $timeout =~ $duration ]] ||
		fail "the timeout input is $(shown "$HF_OIDC_INPUT_TIMEOUT"): expected a duration like 60s or 2m (the most one exchange round may take, retries included)."
	export HF_OIDC_TIMEOUT=$timeout
fi
margin=$(trim "${HF_OIDC_INPUT_REFRESH_MARGIN:-}")
if [ -n "$margin" ]; then
	[[ $margin =~ $duration ]] ||
		fail "the refresh-margin input is $(shown "$HF_OIDC_INPUT_REFRESH_MARGIN"): expected a duration like 5m or 90s (how long before expiry a token is exchanged again)."
	export HF_OIDC_REFRESH_MARGIN=$margin
fi

mode=$(trim "${HF_OIDC_INPUT_EXPORT:-}")
case ${mode:-env} in
env) args=(exchange --format github) ;;
file) args=(refresh --detach --format github) ;;
none) args=(exchange --format github-outputs) ;;
*) fail "the export input is $(shown "$HF_OIDC_INPUT_EXPORT"): expected env (HF_TOKEN, for jobs under an hour), file (token files kept fresh, for long jobs) or none (step outputs only)." ;;
esac
partial=$(trim "${HF_OIDC_INPUT_ALLOW_PARTIAL:-}")
case $partial in
true | True | TRUE) args+=(--allow-partial) ;;
false | False | FALSE | '') ;;
*) fail "the allow-partial input is $(shown "$HF_OIDC_INPUT_ALLOW_PARTIAL"): expected true or false." ;;
esac
git=$(trim "${HF_OIDC_INPUT_GIT:-}")
case $git in
true | True | TRUE) args+=(--git) ;;
false | False | FALSE | '') ;;
*) fail "the git input is $(shown "$HF_OIDC_INPUT_GIT"): expected true or false." ;;
esac

exec "$HF_OIDC_BIN" "${args[@]}"
