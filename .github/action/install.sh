#!/usr/bin/env bash
# Puts a verified hf-oidc on the job for the action's other steps and writes
# its path to $GITHUB_OUTPUT as `path`. In order:
#   1. the binary the user points at (input `binary`);
#   2. the release archive for the action's version and this runner's OS and
#      CPU, checked against the SHA-256 committed in the action's own
#      .release/checksums.txt (never against anything fetched with it), and
#      kept for the rest of the job (and in the tool cache), and checked
#      again each time it is used;
#   3. where the action's ref is no release (a branch, a commit that is no
#      release, `uses: ./`), a build from the action's own source with the
#      `go` on PATH.
# A commit SHA is a release when the action's files are, byte for byte,
# the ones the release recorded in .release/tree.sha256.
# The download needs no curl: it falls back to wget, then python3, then
# node (the runner mounts its own into container jobs, at /__e, to run
# JavaScript actions), so that it works in slim images.
# A digest mismatch fails the step: it never falls back to another source.
# Nothing found in the job's temporary directory is run as it is: any
# earlier step could have changed it.
#
# Inputs come in the environment, never spliced into the script:
# HF_OIDC_INPUT_BINARY, HF_OIDC_INPUT_VERSION, HF_OIDC_ACTION_REF,
# HF_OIDC_RELEASE_BASE_URL (tests and mirrors) and
# HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT (the most seconds one of the 4 download
# attempts may take; default 60).
set -euo pipefail

# die prints why the step failed and exits with status $1: 2 for bad input
# (bad), 1 for anything else (fail).
die() {
	local status=$1
	shift
	local msg="$*" entry=install
	[ "$status" -ne 2 ] || entry=packaging-input
	msg="$msg (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#$entry)"
	printf 'hf-oidc setup: %s\n' "$msg" >&2
	# The job's summary page shows why, too.
	[ -z "${GITHUB_STEP_SUMMARY:-}" ] || printf '### hf-oidc setup failed\n\n%s\n' "$msg" >>"$GITHUB_STEP_SUMMARY"
	# A workflow command ends at a line break: escape what the runner unescapes.
	msg=${msg//'%'/'%25'}
	msg=${msg//$'\r'/'%0D'}
	msg=${msg//$'\n'/'%0A'}
	printf '::error title=hf-oidc setup failed::%s\n' "$msg"
	exit "$status"
}
fail() { die 1 "$@"; }
bad() { die 2 "$@"; }

# shown: see lib.sh, shared by the action's scripts.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

sha256() {
	if command -v sha256sum >/dev/null; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null; then
		shasum -a 256 "$1" | cut -d' ' -f1
	else
		openssl dgst -sha256 -r "$1" | cut -d' ' -f1
	fi
}

# tree_digest prints the SHA-256 of the action's files, as the release's
# dry run (-record) writes it to .release/tree.sha256: one "<sha256>
# ./<path>" line per file but .release/ (and .git/), sorted bytewise, then
# the SHA-256 of those lines.
tree_digest() {
	(
		cd "$action_dir"
		local sum=(sha256sum)
		command -v sha256sum >/dev/null || sum=(shasum -a 256)
		find . -path ./.git -prune -o -path ./.release -prune -o -type f -print0 |
			LC_ALL=C sort -z | xargs -0 "${sum[@]}" | "${sum[@]}" | cut -d' ' -f1
	)
}

# fetch URL FILE SECONDS STALL downloads with the first tool the job has,
# in up to 4 attempts each bounded by SECONDS (curl also gives up on a
# stall: under 1 KiB/s for STALL seconds). A missing release (HTTP 404) is
# not retried by python3 or node.
fetch() {
	local url=$1 out=$2 attempt=$3 stall=$4 node=
	if command -v curl >/dev/null; then
		curl --fail --silent --show-error --location --retry 3 --retry-delay 1 \
			--connect-timeout "$stall" --max-time "$attempt" --speed-limit 1024 --speed-time "$stall" \
			--output "$out" "$url"
		return
	fi
	if command -v wget >/dev/null; then
		echo "hf-oidc: no curl on this job's PATH: downloading with wget"
		if wget --version >/dev/null 2>&1; then
			wget -q --tries=4 --waitretry=1 --timeout="$attempt" -O "$out" "$url"
		else # BusyBox: one attempt
			wget -q -T "$attempt" -O "$out" "$url"
		fi
		return
	fi
	if command -v python3 >/dev/null; then
		echo "hf-oidc: no curl or wget on this job's PATH: downloading with python3"
		python3 -c "$fetch_python" "$url" "$out" "$attempt"
		return
	fi
	if command -v node >/dev/null; then
		node=$(command -v node)
	else
		for node in /__e/node*/bin/node ''; do
			[ -z "$node" ] || [ ! -x "$node" ] || break
		done
	fi
	if [ -n "$node" ]; then
		echo "hf-oidc: no curl, wget or python3 on this job's PATH: downloading with $node"
		"$node" -e "$fetch_node" "$url" "$out" "$attempt"
		return
	fi
	echo "hf-oidc setup: this job has no curl, wget, python3 or node to download with (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
	return 1
}

# The install library's program (circleci/src/scripts/install.sh), the same
# to the byte: TestOneDownloadProgram.
fetch_python='
import sys, time, urllib.error, urllib.request
url, path, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
for attempt in range(1, 5):
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=limit) as r, open(path, "wb") as f:
            while True:
                if time.monotonic() - start > limit:
                    raise TimeoutError("the attempt took over %gs" % limit)
                chunk = r.read(65536)
                if not chunk:
                    break
                f.write(chunk)
            if r.length:
                raise ConnectionError("the connection closed %d bytes early" % r.length)
        sys.exit(0)
    except urllib.error.HTTPError as e:
        if e.code < 500 and e.code not in (408, 429):
            sys.exit("%s: HTTP %d %s" % (url, e.code, e.reason))
        err = e
    except Exception as e:
        err = e
    print("%s: attempt %d of 4 failed: %s" % (url, attempt, err), file=sys.stderr)
    if attempt < 4:
        time.sleep(1)
sys.exit(1)
'

# The same in node, with redirects followed (GitHub's release downloads
# redirect to its storage), each attempt bounded as a whole.
fetch_node='
const fs = require("fs"), [url, path, limit] = process.argv.slice(1);
let current; // the request in flight, redirects included
function get(u, hops, done) {
  const mod = u.startsWith("https:") ? require("https") : require("http");
  const req = current = mod.get(u, (res) => {
    if ([301, 302, 303, 307, 308].includes(res.statusCode) && res.headers.location && hops < 10) {
      res.resume();
      return get(new URL(res.headers.location, u).toString(), hops + 1, done);
    }
    if (res.statusCode !== 200) {
      res.resume();
      return done(Object.assign(new Error(u + ": HTTP " + res.statusCode), { status: res.statusCode }));
    }
    const f = fs.createWriteStream(path);
    res.pipe(f);
    f.on("finish", () => f.close(() => done(null)));
    res.on("error", done);
  });
  req.on("error", done);
}
(async () => {
  for (let attempt = 1; attempt <= 4; attempt++) {
    const err = await new Promise((resolve) => {
      let settled = false;
      const timer = setTimeout(() => current.destroy(new Error("the attempt took over " + limit + "s")), limit * 1000);
      get(url, 0, (e) => { if (!settled) { settled = true; clearTimeout(timer); resolve(e); } });
    });
    if (!err) process.exit(0);
    if (err.status && err.status < 500 && err.status !== 408 && err.status !== 429) { console.error(err.message); process.exit(1); }
    console.error(url + ": attempt " + attempt + " of 4 failed: " + err.message);
    if (attempt < 4) await new Promise((r) => setTimeout(r, 1000));
  }
  process.exit(1);
})();
'

found() {
	echo "path=$1" >>"$GITHUB_OUTPUT"
	# Later steps can run hf-oidc too (hf-oidc claims, hf-oidc exec).
	if [ -n "${GITHUB_PATH:-}" ] && [ "${2:-}" = path ]; then
		dirname "$1" >>"$GITHUB_PATH"
	fi
	exit 0
}

action_dir=${GITHUB_ACTION_PATH:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
job_tmp=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
ref=${HF_OIDC_ACTION_REF:-}
want=${HF_OIDC_INPUT_VERSION:-}

# 1. A binary the user provides.
if [ -n "${HF_OIDC_INPUT_BINARY:-}" ]; then
	bin=$HF_OIDC_INPUT_BINARY
	# The path goes to $GITHUB_OUTPUT, one line per output.
	[[ $bin != *[[:cntrl:]]* ]] ||
		bad "the binary input $(shown "$bin") holds a line break or another control character. Next: give the plain path of an hf-oidc binary on this runner."
	case $bin in /* | [A-Za-z]:*) ;; *) bin=$PWD/$bin ;; esac
	{ [ -f "$bin" ] && [ -x "$bin" ]; } ||
		bad "the binary input $(shown "$HF_OIDC_INPUT_BINARY") is not an executable file. Next: give the path of an hf-oidc binary on this runner, or leave binary empty to install the release."
	echo "hf-oidc: using the binary given as input: $bin"
	found "$bin"
fi

case ${RUNNER_OS:-$(uname -s)} in
Linux) os=linux ;;
macOS | Darwin) os=darwin ;;
Windows | MINGW* | MSYS* | CYGWIN*) os=windows ;;
*) fail "runner OS '${RUNNER_OS:-$(uname -s)}' has no hf-oidc release. Next: build hf-oidc for it and give its path as the binary input." ;;
esac
case ${RUNNER_ARCH:-$(uname -m)} in
X64 | x86_64 | amd64) arch=amd64 ;;
ARM64 | arm64 | aarch64) arch=arm64 ;;
*) fail "runner CPU '${RUNNER_ARCH:-$(uname -m)}' has no hf-oidc release (x64 and arm64 do). Next: build hf-oidc for it and give its path as the binary input." ;;
esac
exe=hf-oidc
[ "$os" = windows ] && exe=hf-oidc.exe

release=
if [ -f "$action_dir/.release/VERSION" ]; then
	release=$(tr -d ' \r\n' <"$action_dir/.release/VERSION")
fi
version=
if [ -n "$want" ]; then
	version=$want
elif [ -n "$ref" ] && [ -n "$release" ]; then
	# The ref names this release exactly, or is its moving major or minor
	# tag (v1, v1.2), which the maintainers point at the release commit.
	if [ "$ref" = "$release" ] || { [[ $ref =~ ^v[0-9]+(\.[0-9]+)?$ ]] && [[ $release == "$ref".* ]]; }; then
		version=$release
	elif [[ $ref =~ ^[0-9a-f]{40}$ ]] && [ -f "$action_dir/.release/tree.sha256" ]; then
		# Pinned by commit SHA, as recommended: the commit is the release
		# when every file of the action is the release's.
		if [ "$(tree_digest)" = "$(tr -d ' \r\n' <"$action_dir/.release/tree.sha256")" ]; then
			version=$release
			echo "hf-oidc: commit $ref is release $release: the action's files are the ones .release/tree.sha256 records"
		fi
	fi
fi

# 2. The release archive, verified against the committed digest.
if [ -n "$version" ]; then
	[[ $version =~ ^v[0-9A-Za-z.+-]{1,64}$ ]] ||
		bad "the version input $(shown "$version") is not a release tag like v1.2.3. Next: name the release the action's .release/VERSION holds (${release:-none}), or leave version empty."
	ext=.tar.gz
	[ "$os" = windows ] && ext=.zip
	asset=hf-oidc_${version}_${os}_${arch}${ext}
	sums=$action_dir/.release/checksums.txt
	digest=
	if [ -f "$sums" ]; then
		digest=$(tr -d '\r' <"$sums" | awk -v a="$asset" '$2 == a { print $1; exit }')
	fi
	[[ $digest =~ ^[0-9a-f]{64}$ ]] ||
		fail "no SHA-256 for $asset is committed in this action's .release/checksums.txt (it holds release ${release:-none}), so it cannot be verified. Next: pin the action itself at the release you want (uses: hf-oidc/hf-oidc@$version), drop the version input, or give a binary."

	install_dir=$job_tmp/hf-oidc/$version-$os-$arch-${digest:0:16}
	archive=
	# An earlier use in this job kept the archive: the binary beside it is
	# never trusted as it is, but extracted again from the archive once the
	# archive matches the committed digest again.
	kept=$install_dir/$asset
	if [ -f "$kept" ]; then
		if [ "$(sha256 "$kept")" = "$digest" ]; then
			archive=$kept
			echo "hf-oidc: $asset downloaded earlier in this job, SHA-256 verified again"
		else
			echo "::warning title=hf-oidc::$asset kept earlier in this job no longer matches its committed SHA-256; removed, downloading it again"
			rm -f "$kept"
		fi
	fi

	cache_dir=
	if [ -z "$archive" ] && [ -n "${RUNNER_TOOL_CACHE:-}" ]; then
		cache_dir=$RUNNER_TOOL_CACHE/hf-oidc/$version/$os-$arch
		if [ -f "$cache_dir/$asset" ]; then
			# The cache outlives the job on self-hosted runners, and other
			# jobs of the runner's user can write it: copy it into this
			# job's own directory first, so that the file checked against
			# the committed digest is the one extracted, whatever the cache
			# holds a moment later.
			mkdir -p "$install_dir"
			copy=$install_dir/$asset.cached
			if cp "$cache_dir/$asset" "$copy" 2>/dev/null && [ "$(sha256 "$copy")" = "$digest" ]; then
				mv -f "$copy" "$kept"
				archive=$kept
				echo "hf-oidc: $asset from the tool cache, SHA-256 verified"
			else
				rm -f "$copy"
				echo "::warning title=hf-oidc::the tool cache's $asset does not match its committed SHA-256; removed, downloading it again"
				rm -f "$cache_dir/$asset"
			fi
		fi
	fi

	if [ -z "$archive" ]; then
		base=${HF_OIDC_RELEASE_BASE_URL:-https://github.com/hf-oidc/hf-oidc/releases/download}
		url=${base%/}/$version/$asset
		# Each attempt is bounded, so that a stalled one is retried instead
		# of holding the job; a stall (under 1 KiB/s for 15 s) ends it sooner.
		attempt=${HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT:-60}
		[[ $attempt =~ ^[1-9][0-9]{0,4}$ ]] ||
			bad "HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT is $(shown "$attempt"): expected the most seconds one download attempt may take, a whole number from 1 to 99999 (default 60). Next: set it to a number like 60, or unset it."
		stall=$((attempt < 15 ? attempt : 15))
		mkdir -p "$install_dir"
		tmp=$install_dir/$asset.download
		echo "hf-oidc: downloading $url"
		fetch "$url" "$tmp" "$attempt" "$stall" ||
			fail "downloading $url failed. Next: check that release $version is published and that this runner can reach it (or set HF_OIDC_RELEASE_BASE_URL to a mirror), or give a binary."
		got=$(sha256 "$tmp")
		if [ "$got" != "$digest" ]; then
			rm -f "$tmp"
			fail "SHA-256 mismatch for $asset downloaded from $url: this action's .release/checksums.txt says $digest, the download is $got. It was deleted and nothing was run. Next: if you mirror the releases, replace the file with the published one; otherwise report this to the hf-oidc maintainers."
		fi
		if [ -n "$cache_dir" ] && mkdir -p "$cache_dir" 2>/dev/null && cp "$tmp" "$cache_dir/.$asset.$$" 2>/dev/null; then
			mv -f "$cache_dir/.$asset.$$" "$cache_dir/$asset"
		fi
		mv -f "$tmp" "$kept"
		archive=$kept
		echo "hf-oidc: $asset SHA-256 verified against the action's committed checksums"
	fi

	# Each use extracts into a new directory: the binary of an earlier use
	# is never run again by this step, and a keeper it started runs on
	# undisturbed (Windows cannot replace a running executable).
	mkdir -p "$install_dir"
	bin_dir=$(mktemp -d "$install_dir/bin.XXXXXX")
	if [ "$os" != windows ]; then
		tar -xzf "$archive" -C "$bin_dir" "$exe"
	elif command -v unzip >/dev/null; then
		unzip -o -q "$archive" "$exe" -d "$bin_dir"
	else
		powershell -NoProfile -NonInteractive -Command "Expand-Archive -LiteralPath '$archive' -DestinationPath '$bin_dir' -Force"
	fi || {
		rm -rf "$bin_dir"
		fail "extracting $exe from $asset failed (see above), though its SHA-256 is the committed one. Next: report this to the hf-oidc maintainers, and give a binary meanwhile."
	}
	chmod +x "$bin_dir/$exe"
	echo "hf-oidc: installed $version for $os/$arch"
	found "$bin_dir/$exe" path
fi

# 3. No release for this ref: build the action's own source.
shown_ref="'(a local path)'"
[ -z "$ref" ] || shown_ref=$(shown "$ref")
why="the action's ref $shown_ref is not a release (this source's release is ${release:-none})"
command -v go >/dev/null ||
	fail "$why, and there is no go on PATH to build it from source. Next: pin the action at a release tag (uses: hf-oidc/hf-oidc@v1), set the version input to the release you want, or give a binary."
[ -f "$action_dir/cmd/hf-oidc/main.go" ] ||
	fail "$why, and the action has no source at $action_dir to build."
key=$(printf '%s\n%s\n' "$action_dir" "$ref" | cksum | cut -d' ' -f1)
install_dir=$job_tmp/hf-oidc/source-$key
# Built again at every use, into a new directory, never reused from the
# job's temporary directory: with go's build cache warm, that takes under a
# second.
stamp=dev
commit=
[[ $ref =~ ^[0-9a-f]{40}$ ]] && commit=$ref
[[ $ref =~ ^[0-9A-Za-z._/-]+$ ]] && [ -z "$commit" ] && stamp=$ref-dev
echo "hf-oidc: $why; building it from source with $(go env GOVERSION)"
start=$SECONDS
mkdir -p "$install_dir"
bin_dir=$(mktemp -d "$install_dir/bin.XXXXXX")
(
	cd "$action_dir"
	CGO_ENABLED=0 GOFLAGS=-mod=readonly GOWORK=off go build -trimpath -buildvcs=false \
		-ldflags "-s -w -X github.com/hf-oidc/hf-oidc/internal/cli.version=$stamp -X github.com/hf-oidc/hf-oidc/internal/cli.commit=$commit" \
		-o "$bin_dir/$exe" ./cmd/hf-oidc
) || fail "building hf-oidc from source in $action_dir failed (see above). Next: pin the action at a release tag (uses: hf-oidc/hf-oidc@v1), or give a binary."
echo "hf-oidc: built from source in $((SECONDS - start))s"
found "$bin_dir/$exe" path
