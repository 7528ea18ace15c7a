#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Earshot needs when they are missing.
#   scripts/deps.sh run    what the app needs to build and run (Fyne's GL/X11 headers, ALSA)
#   scripts/deps.sh test   plus what the test suite uses (Xvfb, sipp, baresip, espeak-ng,
#                          ImageMagick, MinGW for the Windows cross-build, a Secret Service)
set -euo pipefail

RUN_PKGS="gcc pkg-config libgl1-mesa-dev xorg-dev libasound2-dev"
TEST_PKGS="xvfb xauth xdotool sip-tester baresip-core espeak-ng sox imagemagick gcc-mingw-w64-x86-64 dbus dbus-x11 gnome-keyring"

want="$RUN_PKGS"
[ "${1:-run}" = test ] && want="$RUN_PKGS $TEST_PKGS"

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

command -v apt-get >/dev/null || { echo "Install these packages with your package manager:$missing" >&2; exit 1; }
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing:$missing" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
