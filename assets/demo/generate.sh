#!/bin/sh
# generate.sh rebuilds the demo conversation clips from script.tsv with espeak-ng and sox
# (Debian packages espeak-ng and sox). Each line of script.tsv becomes <clip>.ul: 8 kHz
# mono G.711 µ-law without a header, band-limited to the telephone band, trimmed of the
# synthesiser's leading and trailing silence and normalised to -4 dBFS peak. sox -D turns
# dithering off, so the output is deterministic for given espeak-ng and SoX versions
# (espeak-ng 1.51 and SoX 14.4.2 made the committed clips).
#
# Usage: sh assets/demo/generate.sh
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tab=$(printf '\t')
grep -v '^#' script.tsv | while IFS="$tab" read -r clip speaker voice pause text; do
	[ -n "$clip" ] || continue
	# agents speak a little faster than customers
	speed=180
	[ "$speaker" = customer ] && speed=170
	espeak-ng -v "$voice" -s "$speed" -w "$tmp/$clip.wav" "$text"
	sox -D "$tmp/$clip.wav" -t raw -r 8000 -c 1 -e u-law "$clip.ul" \
		gain -6 silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse \
		highpass 250 lowpass 3400 norm -4
	printf '%s\t%s\t%s ms\t%s bytes\n' "$clip" "$speaker" "$pause" "$(wc -c <"$clip.ul")"
done
