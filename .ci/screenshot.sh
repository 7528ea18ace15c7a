#!/usr/bin/env bash
# Starts the real Earshot window under Xvfb on the embedded demo contact centre (60
# concurrent calls), takes a screenshot of the screen and checks that the grid shows
# calls: the app must log "grid ready" with the number of rows it actually drew, and
# the screenshot must contain the status chips' colours (drawn only on grid rows).
# Runs once in English and once in Vietnamese (Language=vi in the settings file).
# Then drags a column border of the real window with xdotool, quits, starts again and
# checks that the width was saved and restored.
# Output: test-output/screenshot.png, test-output/screenshot-vi.png,
# test-output/widths.png and their logs.
set -euo pipefail
cd "$(dirname "$0")/.."
out=test-output
mkdir -p "$out"
# A release build: with the Fyne-thread migration declared (FyneApp.toml's
# [Migrations] fyneDo = true, which `go build` does not read), Fyne skips its
# per-call thread check.
go build -tags migrated_fynedo -o "$out/earshot" ./cmd/earshot

# chip_pixels PNG: pixels in the exact fill colours of the Calling, Ringing and
# Answered chips (amber #D97706, blue #2563EB, green #16A34A).
chip_pixels() {
  convert "$1" -format %c histogram:info:- |
    awk 'toupper($0) ~ /#D97706|#2563EB|#16A34A/ { gsub(":", "", $1); n += $1 } END { print n + 0 }'
}

shoot() {
  local lang=$1 png=$2 log=$3
  local tmp
  tmp=$(mktemp -d)
  mkdir -p "$tmp/config" "$tmp/data" "$tmp/xdg"
  if [ -n "$lang" ]; then
    printf '{"language": "%s"}\n' "$lang" >"$tmp/config/config.json"
  fi
  rm -f "$png"
  EARSHOT_CONFIG_DIR="$tmp/config" EARSHOT_DATA_DIR="$tmp/data" XDG_CONFIG_HOME="$tmp/xdg" \
    EARSHOT_AUDIO_BACKEND=null \
    xvfb-run -a -s "-screen 0 1600x900x24" bash -c '
      "$1" --demo-calls 60 >"$2" 2>&1 &
      pid=$!
      for _ in $(seq 1 120); do
        grep -q "grid ready" "$2" 2>/dev/null && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.5
      done
      sleep 3 # a few ticks of the time-in-status column
      import -window root "$3" || true
      kill $pid 2>/dev/null || true
      wait $pid 2>/dev/null || true
    ' _ "$out/earshot" "$log" "$png"
  rm -rf "$tmp"

  local line rows chips
  line=$(grep -m1 "grid ready" "$log" || true)
  if [ -z "$line" ]; then
    echo "screenshot ($lang): the app never logged 'grid ready'; log follows" >&2
    tail -n 40 "$log" >&2
    return 1
  fi
  rows=$(sed -n 's/.*rendered_rows=\([0-9]*\).*/\1/p' <<<"$line")
  if [ ! -s "$png" ]; then
    echo "screenshot ($lang): no screenshot taken" >&2
    return 1
  fi
  chips=$(chip_pixels "$png")
  echo "screenshot ${lang:-en}: $png, $rows rows drawn, $chips status-chip pixels ($line)"
  if [ "${rows:-0}" -lt 10 ]; then
    echo "screenshot ($lang): only ${rows:-0} grid rows drawn, want at least 10" >&2
    return 1
  fi
  # One status chip is about 80×20 pixels; ten rows of chips are far above 5000.
  if [ "$chips" -lt 5000 ]; then
    echo "screenshot ($lang): the screenshot shows no grid rows (status-chip pixels: $chips)" >&2
    return 1
  fi
}

# widths: drag the right border of the grid's first column 100 pixels to the right
# (the app logs where that border is), quit, start again, and check that the
# preferences hold the new width and the app restored it.
widths() {
  local tmp log1=$out/widths.log log2=$out/widths-restart.log png=$out/widths.png
  tmp=$(mktemp -d)
  mkdir -p "$tmp/config" "$tmp/data" "$tmp/xdg"
  rm -f "$png"
  EARSHOT_CONFIG_DIR="$tmp/config" EARSHOT_DATA_DIR="$tmp/data" XDG_CONFIG_HOME="$tmp/xdg" \
    EARSHOT_AUDIO_BACKEND=null \
    xvfb-run -a -s "-screen 0 1600x900x24" bash -c '
      bin=$1 log1=$2 log2=$3 png=$4
      ready() {
        for _ in $(seq 1 120); do
          grep -q "grid ready" "$1" 2>/dev/null && return 0
          kill -0 $2 2>/dev/null || return 1
          sleep 0.5
        done
        return 1
      }
      "$bin" --demo-calls 60 >"$log1" 2>&1 &
      pid=$!
      ready "$log1" $pid || { kill $pid; exit 1; }
      line=$(grep -m1 "grid ready" "$log1")
      bx=$(sed -n "s/.*border_x=\([0-9]*\).*/\1/p" <<<"$line")
      hy=$(sed -n "s/.*header_y=\([0-9]*\).*/\1/p" <<<"$line")
      win=$(xdotool search --name "Earshot" | head -1)
      eval "$(xdotool getwindowgeometry --shell "$win")"
      x=$((X + bx)) y=$((Y + hy))
      xdotool mousemove $x $y; sleep 0.3
      xdotool mousemove $((x + 1)) $y; sleep 0.3
      xdotool mousedown 1; sleep 0.2
      for d in 10 20 30 40 50 60 70 80 90 100; do xdotool mousemove $((x + d)) $y; sleep 0.05; done
      sleep 0.2
      xdotool mouseup 1; sleep 0.5
      import -window root "$png" || true
      kill $pid; wait $pid 2>/dev/null
      "$bin" --demo-calls 60 >"$log2" 2>&1 &
      pid=$!
      ready "$log2" $pid
      kill $pid; wait $pid 2>/dev/null
      exit 0
    ' _ "$out/earshot" "$log1" "$log2" "$png"
  local prefs before after
  prefs=$(cat "$tmp"/xdg/fyne/app.earshot.desktop/preferences.json 2>/dev/null || true)
  rm -rf "$tmp"
  before=$(grep -m1 "grid ready" "$log1" | sed -n 's/.*first_width=\([0-9.]*\).*/\1/p')
  after=$(grep -m1 "grid ready" "$log2" | sed -n 's/.*first_width=\([0-9.]*\).*/\1/p')
  echo "widths: first column ${before:-?} wide, after a 100-pixel drag and a restart ${after:-?}; preferences: $prefs"
  if [ -z "$before" ] || [ -z "$after" ] || ! awk -v b="$before" -v a="$after" 'BEGIN { exit !(a >= b + 80 && a <= b + 120) }'; then
    echo "widths: the dragged column width was not saved and restored" >&2
    return 1
  fi
  if ! grep -q '"grid.width.id"' <<<"$prefs"; then
    echo "widths: the preferences hold no grid.width.id" >&2
    return 1
  fi
}

shoot "" "$out/screenshot.png" "$out/screenshot.log"
shoot vi "$out/screenshot-vi.png" "$out/screenshot-vi.log"
widths
