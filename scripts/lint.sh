#!/usr/bin/env bash
# scripts/lint.sh — install (cached) and run golangci-lint with .golangci.yml.
#
#   scripts/lint.sh            install if needed, then lint every package
#   scripts/lint.sh install    only install
#
# The binary is built from the Go module proxy at a pinned version into
# $LINT_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/taskdump/golangci-lint-<version>)
# and reused when present (a cold build takes ~3 minutes on 2 cores).
set -euo pipefail

LINT_VERSION=v2.15.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${LINT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskdump/golangci-lint-$LINT_VERSION}"
BIN="$CACHE/golangci-lint"

log() { echo "lint.sh: $*" >&2; }

install() {
	if [[ -x "$BIN" ]]; then
		return 0
	fi
	mkdir -p "$CACHE"
	log "building golangci-lint $LINT_VERSION into $BIN"
	GOBIN="$CACHE" nice -n 10 go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$LINT_VERSION"
}

case "${1:-run}" in
install) install ;;
run)
	install
	cd "$ROOT"
	"$BIN" run --timeout 10m ./...
	;;
*)
	echo "usage: $0 [install|run]" >&2
	exit 2
	;;
esac
