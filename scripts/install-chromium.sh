#!/usr/bin/env bash
# scripts/install-chromium.sh: make sure the browser tests have a Chromium. Debian's package
# (with a CJK font, for the bilingual confirmation page) is installed with apt-get when no
# chromium is on PATH, as root or with sudo. Elsewhere it says what to do; the browser tests
# then skip, except under CI=true, where they fail.
set -euo pipefail

if [ -n "${ENVSHARE_CHROMIUM:-}" ]; then
	echo "== Chromium for the browser tests: ENVSHARE_CHROMIUM=$ENVSHARE_CHROMIUM"
	exit 0
fi
for name in chromium chromium-browser google-chrome-stable google-chrome; do
	if path=$(command -v "$name"); then
		echo "== Chromium for the browser tests: $path"
		exit 0
	fi
done

if ! command -v apt-get >/dev/null; then
	echo "== Chromium is not installed and this is no Debian system: install Chromium (or set ENVSHARE_CHROMIUM"
	echo "   to a Chrome binary) to run the browser tests; without it they are skipped (and fail under CI=true)."
	exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "== Chromium is not installed, and installing it needs root: as root, run"
		echo "   apt-get update && apt-get install -y chromium fonts-wqy-microhei"
		exit 0
	fi
	sudo=(sudo)
fi
echo "== Chromium is not installed: installing it for the browser tests with apt-get"
echo "   (${sudo[*]:+sudo }apt-get install -y chromium fonts-wqy-microhei; this takes a minute or two)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$SECONDS
if ! { "${sudo[@]}" apt-get update && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-wqy-microhei; } >"$log" 2>&1; then
	tail -n 30 "$log"
	echo "apt-get could not install Chromium (its output above)" >&2
	exit 1
fi
echo "   installed $(command -v chromium) in $((SECONDS - start)) s"
