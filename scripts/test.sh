#!/usr/bin/env bash
# Runs Earshot's whole test suite: vet, the race-enabled tests (real SIP peers, null audio
# backend, recorded Asterisk traffic), a fuzz smoke run, the Windows cross-build and the
# screenshot of the real app under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
[ -z "$unformatted" ] || { echo "gofmt needed:"; echo "$unformatted"; exit 1; }

echo "== go vet"
go vet ./...

echo "== go test -race"
# Tests that store secrets use the real OS keyring; where none is unlocked they move
# into a private D-Bus session with GNOME Keyring (internal/keyringtest).
go test -race -timeout 30m ./...

echo "== fuzz smoke: every fuzz target 5 s beyond its seed corpus (testdata/fuzz)"
for dir in $(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //'); do
    go test -run '^$' -fuzz "^${target}\$" -fuzztime 5s "$dir"
  done
done

echo "== cross-checks of the platform files (internal/rtpsock on macOS and Windows)"
GOOS=darwin go vet ./internal/rtpsock
GOOS=windows go vet ./internal/rtpsock

echo "== Windows cross-build"
CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc go build -o /dev/null ./cmd/earshot

if [ -x .ci/screenshot.sh ]; then
  echo "== screenshot of the real app under Xvfb"
  .ci/screenshot.sh
fi
echo "== all tests passed"
