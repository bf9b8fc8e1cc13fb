#!/usr/bin/env bash
# CI only: builds this commit's release archive for the runner, commits its
# checksum to the workspace's .release/ as the release build does, and
# serves the archive on loopback the way GitHub serves release downloads,
# so that the action's download path runs on every kind of runner.
set -euo pipefail
version=v0.0.0-ci
case $RUNNER_OS in Linux) os=linux ;; macOS) os=darwin ;; Windows) os=windows ;; esac
case $RUNNER_ARCH in X64) arch=amd64 ;; ARM64) arch=arm64 ;; esac
dl=$RUNNER_TEMP/releases
go run ./internal/release/cmd/build -version "$version" -commit "${GITHUB_SHA:-ci}" \
	-platforms "$os/$arch" -release-dir .release -out "$dl/$version"
python=$(command -v python3 || command -v python)
port=8742
nohup "$python" -m http.server "$port" --bind 127.0.0.1 --directory "$dl" </dev/null >"$RUNNER_TEMP/http.out" 2>&1 &
curl --silent --retry 30 --retry-connrefused --retry-delay 1 --output /dev/null "http://127.0.0.1:$port/"
echo "HF_OIDC_RELEASE_BASE_URL=http://127.0.0.1:$port" >>"$GITHUB_ENV"
