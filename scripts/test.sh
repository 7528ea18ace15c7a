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
# A private D-Bus session with an unlocked GNOME Keyring gives the tests a real
# Secret Service (the OS keyring on Linux).
dbus-run-session -- bash -c '
  echo -n earshot-ci | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || true
  go test -race -timeout 30m ./...
'

echo "== Windows cross-build"
CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc go build -o /dev/null ./cmd/earshot

if [ -x .ci/screenshot.sh ]; then
  echo "== screenshot of the real app under Xvfb"
  .ci/screenshot.sh
fi
echo "== all tests passed"
