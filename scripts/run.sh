#!/usr/bin/env bash
# Runs Earshot: the embedded demo contact centre when no PBX is configured.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
# migrated_fynedo: Earshot changes widgets only on Fyne's goroutine (fyne.Do), as
# FyneApp.toml's [Migrations] fyneDo = true declares; `go run` does not read that file,
# so the tag is given here. Fyne then skips its per-call thread check (about a fifth of
# the app's CPU time at 10,000 calls). Tests run without it and keep the check.
exec go run -tags migrated_fynedo ./cmd/earshot "$@"
