#!/usr/bin/env bash
# scripts/install-engines.sh: make sure the ledger's tests have their database engines.
# - MariaDB (Debian's mariadb-server) for the MySQL engine: installed with apt-get when no
#   mariadbd / mysqld is found, as root or with sudo. The tests start their own server in a
#   temporary directory (never the system's service).
# - dynalite (DynamoDB's API in Node.js, from npm) for the DynamoDB engine: installed into
#   ./bin/node from scripts/dynalite/package-lock.json (pinned versions) when missing. Node.js
#   and npm come from apt-get when they are missing.
# Elsewhere it says what to do; the engine tests then skip, except under CI=true, where they fail.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then
	sudo=(sudo)
fi
can_apt() { command -v apt-get >/dev/null && { [ "$(id -u)" -eq 0 ] || [ ${#sudo[@]} -gt 0 ]; }; }

# apt_install PACKAGE...: apt-get update, then install, waiting for another apt-get to finish.
apt_install() {
	local log start=$SECONDS
	log=$(mktemp)
	if ! { "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update &&
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "$@"; } >"$log" 2>&1; then
		tail -n 30 "$log"
		rm -f "$log"
		echo "apt-get could not install $* (its output above)" >&2
		return 1
	fi
	rm -f "$log"
	echo "   installed $* in $((SECONDS - start)) s"
}

find_mariadbd() {
	local name
	for name in mariadbd mysqld; do
		command -v "$name" 2>/dev/null && return
		[ -x "/usr/sbin/$name" ] && { echo "/usr/sbin/$name"; return; }
	done
	return 1
}

if [ -n "${ENVSHARE_TEST_MYSQL_DSN:-}" ]; then
	echo "== MariaDB for the ledger tests: ENVSHARE_TEST_MYSQL_DSN (a server you started)"
elif path=$(find_mariadbd); then
	echo "== MariaDB for the ledger tests: $path"
elif can_apt; then
	echo "== MariaDB is not installed: installing it for the ledger tests with apt-get"
	echo "   (${sudo[*]:+sudo }apt-get install -y mariadb-server; a minute or two; the tests start their own server)"
	apt_install mariadb-server
else
	echo "== MariaDB is not installed, and installing it needs apt-get as root: as root, run"
	echo "   apt-get update && apt-get install -y mariadb-server"
	echo "   Without it the MySQL ledger tests are skipped (and fail under CI=true)."
fi

want=$(sed -n 's/.*"dynalite": *"\([^"]*\)".*/\1/p' scripts/dynalite/package.json | head -1)
have=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' bin/node/node_modules/dynalite/package.json 2>/dev/null | head -1 || true)
if [ -n "${ENVSHARE_TEST_DYNAMODB_ENDPOINT:-}" ]; then
	echo "== DynamoDB for the ledger tests: ENVSHARE_TEST_DYNAMODB_ENDPOINT (a server you started)"
	exit 0
elif [ "$have" = "$want" ] && [ -n "$want" ] && command -v node >/dev/null; then
	echo "== dynalite $have for the ledger tests: bin/node/node_modules/dynalite"
	exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	if ! can_apt; then
		echo "== Node.js and npm are not installed: install them (Node.js 20 or later), then run make test again."
		echo "   Without them the DynamoDB ledger tests are skipped (and fail under CI=true)."
		exit 0
	fi
	echo "== Node.js or npm is not installed: installing them with apt-get (for dynalite)"
	apt_install nodejs npm
fi
echo "== Installing dynalite $want into bin/node for the ledger tests (npm ci; first time only: a few seconds)"
start=$SECONDS
mkdir -p bin/node
cp scripts/dynalite/package.json scripts/dynalite/package-lock.json bin/node/
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! (cd bin/node && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
	tail -n 30 "$log"
	echo "npm could not install dynalite (its output above)" >&2
	exit 1
fi
echo "   installed dynalite $want in $((SECONDS - start)) s"
