#!/bin/bash
# The orb's exchange step: exchanges the job's CircleCI ID token for one Hub
# token per resource and appends them to $BASH_ENV as export lines, which
# CircleCI sources at the start of every later step. In file mode (the
# refresh command) a background keeper keeps token files fresh instead, and
# HF_TOKEN_PATH points at them. Nothing is written when any resource fails,
# and no token is ever printed.
set -euo pipefail

args=(--provider circleci --format shell)
case ${HF_OIDC_PARAM_MODE:-env} in
env) cmd=(exchange) ;;
file)
	# The token directory is hf-oidc's default, one per job
	# ($CIRCLE_WORKFLOW_JOB_ID), which later steps (hf-oidc refresh --stop,
	# the git helper) find again, and no other job on the machine does.
	cmd=(refresh --detach)
	;;
*)
	echo "hf-oidc: internal error: unknown mode '${HF_OIDC_PARAM_MODE}'" >&2
	exit 2
	;;
esac
# The parameters reach hf-oidc as words of its command line, never as
# shell code; it checks each and names it in its errors.
[ -z "${HF_OIDC_PARAM_AUDIENCE:-}" ] || args+=(--audience "$HF_OIDC_PARAM_AUDIENCE")
[ -z "${HF_OIDC_PARAM_ENDPOINT:-}" ] || args+=(--endpoint "$HF_OIDC_PARAM_ENDPOINT")

# The export lines go straight to $BASH_ENV: they are written in one piece,
# or not at all when the exchange fails.
HF_OIDC_RESOURCES=${HF_OIDC_PARAM_RESOURCES:-} hf-oidc "${cmd[@]}" "${args[@]}" >>"$BASH_ENV"
if [ -n "${HF_OIDC_PARAM_ENDPOINT:-}" ]; then
	# The hf CLI and huggingface_hub in later steps must talk to the same
	# Hub: the endpoint hf-oidc has just accepted.
	printf 'export HF_ENDPOINT=%q\n' "$HF_OIDC_PARAM_ENDPOINT" >>"$BASH_ENV"
fi
