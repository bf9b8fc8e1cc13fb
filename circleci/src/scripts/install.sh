#!/bin/sh
# The orb's install step: puts a verified hf-oidc on PATH for the job's later
# steps (through $BASH_ENV), unless one is there already.
#
# The library between the markers below is also the install part of the
# GitLab template (gitlab/templates/hf-oidc.yml), where it runs inside the
# job's own shell: POSIX sh, no exit, nothing defined but hf_oidc_*
# functions and the release block. Edit it here; then
#   UPDATE_PACKAGING=1 go test ./internal/packagingtest
# copies it into the template and writes the release block from .release/.

# --- hf-oidc install library: begin ---
# --- release: generated from .release/ by UPDATE_PACKAGING=1 go test ./internal/packagingtest; do not edit ---
hf_oidc_release=''
hf_oidc_sha256() {
	case $1 in
	*) return 1 ;;
	esac
}
# --- release: end ---

# hf_oidc_install VERSION ORIGIN prints the path of an hf-oidc to use, and
# what it did on stderr. An hf-oidc already on PATH wins and nothing is
# downloaded. Otherwise it downloads release VERSION (default: the release
# above) for this OS and CPU from $HF_OIDC_RELEASE_BASE_URL (default: the
# GitHub releases) and checks its SHA-256 against the digest above, which
# travels with ORIGIN (this orb, or the template), never with the download.
# Run it in a subshell: its variables are its own.
hf_oidc_install() {
	hf_oidc_v=${1:-$hf_oidc_release}
	hf_oidc_origin=$2
	# A bad version is refused even when an hf-oidc on PATH would make it
	# moot: it is a mistake, or an attempt at one, either way worth saying.
	case $hf_oidc_v in
	'') ;;
	*[!0-9A-Za-z.+-]* | [!v]*)
		echo "hf-oidc setup: version '$hf_oidc_v' is not a release tag like v1.2.3. Next: leave version empty to install ${hf_oidc_release:-the release $hf_oidc_origin carries}. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
		return 1
		;;
	esac
	if hf_oidc_bin=$(command -v hf-oidc 2>/dev/null) && [ -n "$hf_oidc_bin" ]; then
		echo "hf-oidc: using $hf_oidc_bin, already on PATH ($("$hf_oidc_bin" version 2>/dev/null || echo 'it does not say its version')); nothing downloaded" >&2
		echo "$hf_oidc_bin"
		return 0
	fi
	if [ -z "$hf_oidc_v" ]; then
		echo "hf-oidc setup: no hf-oidc on PATH, and $hf_oidc_origin comes from a commit that carries no release to install. Next: use $hf_oidc_origin at a release tag, or put hf-oidc on the runner's PATH. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
		return 1
	fi
	# Each download attempt is bounded, so that a stalled one is retried
	# instead of holding the job for the whole of a long timeout.
	hf_oidc_attempt=${HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT:-60}
	case $hf_oidc_attempt in
	*[!0-9]* | 0* | ??????*)
		echo "hf-oidc setup: HF_OIDC_DOWNLOAD_ATTEMPT_TIMEOUT is '$hf_oidc_attempt': expected the most seconds one download attempt may take, a whole number from 1 to 99999 (default 60). Next: set it to a number like 60, or unset it. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
		return 1
		;;
	esac
	case $(uname -s) in
	Linux) hf_oidc_os=linux ;;
	Darwin) hf_oidc_os=darwin ;;
	*)
		echo "hf-oidc setup: $(uname -s) runners have no hf-oidc release this script installs (Linux and macOS do). Next: put hf-oidc on the runner's PATH. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
		return 1
		;;
	esac
	case $(uname -m) in
	x86_64 | amd64) hf_oidc_arch=amd64 ;;
	aarch64 | arm64) hf_oidc_arch=arm64 ;;
	*)
		echo "hf-oidc setup: $(uname -m) CPUs have no hf-oidc release (x86_64 and arm64 do). Next: put hf-oidc on the runner's PATH. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
		return 1
		;;
	esac
	hf_oidc_asset=hf-oidc_${hf_oidc_v}_${hf_oidc_os}_${hf_oidc_arch}.tar.gz
	if ! hf_oidc_digest=$(hf_oidc_sha256 "$hf_oidc_asset"); then
		if [ "$hf_oidc_v" != "$hf_oidc_release" ]; then
			echo "hf-oidc setup: $hf_oidc_origin carries the SHA-256 of release ${hf_oidc_release:-(none)} only, so it cannot verify $hf_oidc_v. Next: use $hf_oidc_origin at release $hf_oidc_v itself, or leave version empty. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
		else
			echo "hf-oidc setup: $hf_oidc_origin carries no SHA-256 for $hf_oidc_asset. Next: put hf-oidc on the runner's PATH. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
		fi
		return 1
	fi
	hf_oidc_dir=$(mktemp -d "${TMPDIR:-/tmp}/hf-oidc.XXXXXX") || return 1
	hf_oidc_url=${HF_OIDC_RELEASE_BASE_URL:-https://github.com/hf-oidc/hf-oidc/releases/download}
	hf_oidc_url=${hf_oidc_url%/}/$hf_oidc_v/$hf_oidc_asset
	echo "hf-oidc: downloading $hf_oidc_url" >&2
	if ! hf_oidc_fetch "$hf_oidc_url" "$hf_oidc_dir/$hf_oidc_asset" "$hf_oidc_attempt"; then
		rm -rf "$hf_oidc_dir"
		echo "hf-oidc setup: downloading $hf_oidc_url failed (see above). Next: check that this runner can reach it (set HF_OIDC_RELEASE_BASE_URL to a mirror if it cannot), or put hf-oidc on the runner's PATH. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
		return 1
	fi
	hf_oidc_got=$(hf_oidc_hash "$hf_oidc_dir/$hf_oidc_asset") || hf_oidc_got='(no sha256sum, shasum or openssl to compute it)'
	if [ "$hf_oidc_got" != "$hf_oidc_digest" ]; then
		rm -rf "$hf_oidc_dir"
		echo "hf-oidc setup: SHA-256 mismatch for $hf_oidc_asset from $hf_oidc_url: $hf_oidc_origin says $hf_oidc_digest, the download is $hf_oidc_got. It was deleted and nothing was run. Next: if HF_OIDC_RELEASE_BASE_URL names a mirror, replace its file with the published one; otherwise report this to the hf-oidc maintainers. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
		return 1
	fi
	if ! tar -xzf "$hf_oidc_dir/$hf_oidc_asset" -C "$hf_oidc_dir" hf-oidc; then
		rm -rf "$hf_oidc_dir"
		echo "hf-oidc setup: extracting hf-oidc from $hf_oidc_asset failed (see above), though its SHA-256 is the expected one. Next: report this to the hf-oidc maintainers. (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
		return 1
	fi
	rm -f "$hf_oidc_dir/$hf_oidc_asset"
	chmod 755 "$hf_oidc_dir/hf-oidc"
	echo "hf-oidc: installed $hf_oidc_v from $hf_oidc_asset, its SHA-256 checked against the one $hf_oidc_origin carries" >&2
	echo "$hf_oidc_dir/hf-oidc"
}

# hf_oidc_fetch URL FILE SECONDS downloads with whatever the image has, in
# up to 4 attempts (BusyBox's wget makes one), each bounded by SECONDS:
# curl and python3 bound the whole attempt, wget each wait for data; curl
# gives up sooner on a stall (under 1 KiB/s for 15 s). A missing release
# (HTTP 404) is not retried.
hf_oidc_fetch() {
	hf_oidc_stall=15
	[ "$3" -ge 15 ] || hf_oidc_stall=$3
	if command -v curl >/dev/null 2>&1; then
		curl --fail --silent --show-error --location --retry 3 --retry-delay 1 \
			--connect-timeout "$hf_oidc_stall" --max-time "$3" --speed-limit 1024 --speed-time "$hf_oidc_stall" \
			--output "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		if wget --version >/dev/null 2>&1; then
			wget -q --tries=4 --waitretry=1 --timeout="$3" -O "$2" "$1"
		else
			wget -q -T "$3" -O "$2" "$1"
		fi
	elif command -v python3 >/dev/null 2>&1; then
		python3 -c '
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
' "$1" "$2" "$3"
	else
		echo "hf-oidc setup: the image has neither curl, wget nor python3 to download with (see https://github.com/hf-oidc/hf-oidc/blob/main/docs/troubleshooting.md#install)" >&2
		return 1
	fi
}

# hf_oidc_hash FILE prints the SHA-256 of FILE in lowercase hex.
hf_oidc_hash() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d' ' -f1
	elif command -v openssl >/dev/null 2>&1; then
		openssl dgst -sha256 -r "$1" | cut -d' ' -f1
	else
		return 1
	fi
}
# --- hf-oidc install library: end ---

set -eu
hf_oidc_path=$(hf_oidc_install "${HF_OIDC_PARAM_VERSION:-}" 'this orb')
hf_oidc_dir=${hf_oidc_path%/*}
# Later steps source $BASH_ENV first: they find this hf-oidc on PATH.
case ":$PATH:" in
*":$hf_oidc_dir:"*) ;;
*)
	hf_oidc_quoted=$(printf '%s' "$hf_oidc_dir" | sed "s/'/'\\\\''/g")
	# shellcheck disable=SC2016 # "$PATH" is for $BASH_ENV to expand
	printf 'export PATH=%s:"$PATH"\n' "'$hf_oidc_quoted'" >>"$BASH_ENV"
	;;
esac
