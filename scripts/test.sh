#!/usr/bin/env bash
# Runs every check and test of taskdump, as CI does (.ci/run calls this).
#
# It builds and starts a real Jaeger on loopback for the trace integration
# tests (scripts/jaeger.sh; the first build takes ~15 minutes and is cached
# under ~/.cache/taskdump), then runs gofmt, go vet and go test -race on
# every package, and stops Jaeger again. golangci-lint runs with
# .golangci.yml (scripts/lint.sh builds it once into ~/.cache/taskdump).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './tools/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"
	echo "$unformatted"
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== golangci-lint (.golangci.yml; installed by scripts/lint.sh)"
scripts/lint.sh

echo "== tools (tmux, for the terminal tests of taskdump top; scripts/tools.sh)"
scripts/tools.sh

jaeger_started=0
if [ -x scripts/jaeger.sh ] && [ "${TASKDUMP_NO_JAEGER:-}" = "" ]; then
	echo "== jaeger (for the trace integration tests)"
	if scripts/jaeger.sh start; then
		jaeger_started=1
	else
		echo "jaeger did not start: the trace integration tests will fail" >&2
		exit 1
	fi
fi
cleanup() {
	if [ "$jaeger_started" = 1 ]; then
		scripts/jaeger.sh stop || true
	fi
}
trap cleanup EXIT

echo "== go test -race ./..."
go test -race -count=1 -timeout 20m ./...
