#!/usr/bin/env bash
# Runs Earshot: the embedded demo contact centre when no PBX is configured.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
exec go run ./cmd/earshot "$@"
