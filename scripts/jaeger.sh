#!/usr/bin/env bash
# scripts/jaeger.sh — build and run a loopback-only Jaeger for the trace/
# integration tests and examples/jaeger.
#
#   scripts/jaeger.sh build    build the binary (cached; ~14 min cold on 2 cores)
#   scripts/jaeger.sh start    build if needed, start, wait until the query API answers
#   scripts/jaeger.sh stop     stop the Jaeger started by `start`
#   scripts/jaeger.sh status   exit 0 when the query API answers
#
# The binary comes from the separate Go module tools/jaeger, which pins
# github.com/jaegertracing/jaeger/cmd/jaeger@v1.76.0 as a tool. It is built
# into $JAEGER_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/taskdump/jaeger-v1.76.0)
# and copied to bin/jaeger (git-ignored); both are reused when present.
#
# Every port binds 127.0.0.1: OTLP HTTP 4318, OTLP gRPC 4317, query HTTP 16686
# (API only: the module-built binary has no UI assets), query gRPC 16685.
# Storage is in memory: traces vanish when Jaeger stops.
set -euo pipefail

JAEGER_VERSION=v1.76.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${JAEGER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/taskdump/jaeger-$JAEGER_VERSION}"
BIN="$CACHE/jaeger"
LOCAL_BIN="$ROOT/bin/jaeger"
RUN_DIR="${JAEGER_RUN_DIR:-$CACHE/run}"
PIDFILE="$RUN_DIR/jaeger.pid"
LOGFILE="$RUN_DIR/jaeger.log"
QUERY="http://127.0.0.1:16686"

log() { echo "jaeger.sh: $*" >&2; }

# answers reports whether the query API answers GET /api/services with 200.
answers() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsS -o /dev/null --max-time 2 "$QUERY/api/services" 2>/dev/null
		return
	fi
	# No curl: plain HTTP/1.0 through bash's /dev/tcp.
	local status
	status="$(timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/16686 &&
		printf "GET /api/services HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" >&3 && head -n1 <&3' 2>/dev/null)" || return 1
	[[ "$status" == *" 200"* ]]
}

build() {
	if [[ -x "$BIN" ]]; then
		log "reusing $BIN"
	else
		mkdir -p "$CACHE"
		log "building jaeger $JAEGER_VERSION into $BIN (cold: ~14 min, ~3 GB of caches)"
		(cd "$ROOT/tools/jaeger" && nice -n 10 go build -trimpath -o "$BIN.tmp" github.com/jaegertracing/jaeger/cmd/jaeger)
		mv "$BIN.tmp" "$BIN"
		log "built $BIN"
	fi
	mkdir -p "$ROOT/bin"
	if [[ ! -x "$LOCAL_BIN" ]] || ! cmp -s "$BIN" "$LOCAL_BIN"; then
		cp "$BIN" "$LOCAL_BIN"
	fi
}

start() {
	if answers; then
		log "already answering at $QUERY"
		return 0
	fi
	build
	mkdir -p "$RUN_DIR"
	log "starting; log in $LOGFILE"
	JAEGER_LISTEN_HOST=127.0.0.1 nohup "$BIN" \
		--set=extensions.jaeger_query.http.endpoint=127.0.0.1:16686 \
		--set=extensions.jaeger_query.grpc.endpoint=127.0.0.1:16685 \
		>"$LOGFILE" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
	for _ in $(seq 1 120); do
		if answers; then
			log "ready at $QUERY (pid $(cat "$PIDFILE"))"
			return 0
		fi
		if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
			log "exited early; last log lines:"
			tail -20 "$LOGFILE" >&2
			return 1
		fi
		sleep 0.5
	done
	log "query API did not answer within 60s; last log lines:"
	tail -20 "$LOGFILE" >&2
	return 1
}

stop() {
	if [[ ! -f "$PIDFILE" ]]; then
		log "not started by this script"
		return 0
	fi
	pid="$(cat "$PIDFILE")"
	if kill "$pid" 2>/dev/null; then
		for _ in $(seq 1 40); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$PIDFILE"
	log "stopped (pid $pid)"
}

case "${1:-}" in
build) build ;;
start) start ;;
stop) stop ;;
status) answers ;;
*)
	echo "usage: $0 build|start|stop|status" >&2
	exit 2
	;;
esac
