#!/usr/bin/env bash
# Mirrors gitlab/ of the release commit as the root of the GitLab component
# project, tagged with the release's version as GitLab's CI/CD Catalog takes
# it (v1.2.3 becomes 1.2.3). That tag's pipeline there tests the component
# and creates the release, which publishes the version to the Catalog.
#
# Environment: TAG (v1.2.3), COMMIT (the tag's commit), GITLAB_URL (the
# project's HTTPS clone URL), GITLAB_COMPONENT_TOKEN (a project access
# token of that project; CONTRIBUTING.md says how to make one).
#
# The GitLab commit is gitlab/'s tree alone, on top of the project's main.
# The token reaches git only through a credential helper that reads it from
# the environment when git asks: never on a command line, in a URL, in
# .git/config or in the log.
set -euo pipefail

: "${TAG:?}" "${COMMIT:?}" "${GITLAB_URL:?}"
if [[ -z ${GITLAB_COMPONENT_TOKEN:-} ]]; then
	echo "::error::mirror-gitlab: the secret GITLAB_COMPONENT_TOKEN is empty, so gitlab/ cannot be pushed to $GITLAB_URL. Next: add it to the repository's secrets as CONTRIBUTING.md says (a project access token of that project, role Maintainer, scope write_repository)." >&2
	exit 1
fi
version=${TAG#v}
if ! [[ $version =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]]; then
	echo "::error::mirror-gitlab: tag $TAG is not v followed by a semantic version (v1.2.3, v1.2.3-rc.1), the only versions the CI/CD Catalog publishes. Next: release under such a tag." >&2
	exit 1
fi
tree=$(git rev-parse --verify "$COMMIT:gitlab")

export GIT_TERMINAL_PROMPT=0
# remote runs git with the token as the only credential it can find. The
# helper's text names the variable; its shell reads the value, with printf,
# a builtin, so that no process's arguments hold it.
# shellcheck disable=SC2016 # expanded by the helper's shell, not this one
remote() {
	git -c credential.helper= \
		-c 'credential.helper=!f() { if [ "$1" = get ]; then printf "username=hf-oidc-release\npassword=%s\n" "$GITLAB_COMPONENT_TOKEN"; fi; }; f' \
		"$@"
}

# ref REF prints the commit REF names on GitLab, or nothing when there is
# no such ref; any other failure (the token refused, the project missing)
# stops the script.
ref() {
	local out rc=0
	out=$(remote ls-remote --exit-code "$GITLAB_URL" "$1") || rc=$?
	case $rc in
	0) echo "${out%%[[:space:]]*}" ;;
	2) ;;
	*)
		echo "::error::mirror-gitlab: git ls-remote $GITLAB_URL failed (see above). Next: check that the project exists and that GITLAB_COMPONENT_TOKEN is a live project access token of it with write_repository." >&2
		exit 1
		;;
	esac
}

# A rerun finds its tag there already: fine when it holds this very tree.
existing=$(ref "refs/tags/$version")
if [[ -n $existing ]]; then
	remote fetch -q --no-tags "$GITLAB_URL" "refs/tags/$version"
	if [[ $(git rev-parse "FETCH_HEAD^{tree}") == "$tree" ]]; then
		echo "mirror-gitlab: $GITLAB_URL already has $version ($existing) with gitlab/ of $TAG; nothing to push"
		exit 0
	fi
	echo "::error::mirror-gitlab: $GITLAB_URL already has a tag $version ($existing) whose files are not gitlab/ of $TAG. Next: release a new version (a published Catalog version should not change), or delete the tag and its release there if it was never used." >&2
	exit 1
fi

parent=()
main=$(ref refs/heads/main)
if [[ -n $main ]]; then
	remote fetch -q --no-tags "$GITLAB_URL" refs/heads/main
	parent=(-p "$(git rev-parse FETCH_HEAD)")
fi
commit=$(
	export GIT_AUTHOR_NAME="hf-oidc release" GIT_AUTHOR_EMAIL="hf-oidc-release@users.noreply.github.com"
	export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
	export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
	GIT_AUTHOR_DATE=$(git show -s --format=%cI "$COMMIT") GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
	git commit-tree "$tree" "${parent[@]}" -m "hf-oidc $version" \
		-m "gitlab/ of ${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-hf-oidc/hf-oidc} at $TAG ($COMMIT)."
)

# Pre-releases get their tag, and the project's main stays on the last
# release. Both refs move together or neither does.
refs=("$commit:refs/tags/$version")
if [[ $version != *-* ]]; then
	refs+=("$commit:refs/heads/main")
fi
remote push -q --atomic "$GITLAB_URL" "${refs[@]}"
echo "mirror-gitlab: pushed $version ($commit) to $GITLAB_URL: its pipeline tests the component and publishes $version to the CI/CD Catalog"
