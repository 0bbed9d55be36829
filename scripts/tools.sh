#!/usr/bin/env bash
# Installs the tools the tests use, when they are missing: tmux, in which
# the end-to-end tests of taskdump top run the real view (they skip, saying
# so, without it). scripts/test.sh calls this; it never fails the run: a
# tool it cannot install leaves its tests skipped.
set -uo pipefail

if ! command -v tmux >/dev/null 2>&1; then
	echo "tools.sh: installing tmux (for the terminal tests of taskdump top)"
	sudo=""
	if [ "$(id -u)" != 0 ]; then
		sudo="sudo"
	fi
	if command -v apt-get >/dev/null 2>&1; then
		$sudo apt-get install -y tmux || { $sudo apt-get update && $sudo apt-get install -y tmux; } ||
			echo "tools.sh: could not install tmux: the taskdump top terminal tests will skip" >&2
	else
		echo "tools.sh: tmux is missing and there is no apt-get: the taskdump top terminal tests will skip" >&2
	fi
fi
exit 0
