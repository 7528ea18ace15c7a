// Package demo embeds the recorded conversation that the demo contact centre's SIP side
// (monitor/demo/demosip) streams to the supervisor's softphone: an agent and a customer
// talking, first in Vietnamese, then in English. script.tsv lists the turns (clip,
// speaker, espeak-ng voice, pause before it, text); each clip is <clip>.ul, 8 kHz mono
// G.711 µ-law without a header. generate.sh rebuilds the clips with espeak-ng and sox;
// docs/demo-sip.md says how.
package demo

import "embed"

// FS holds script.tsv and the clips it names.
//
//go:embed script.tsv *.ul
var FS embed.FS

// Script is the name of the conversation's script inside FS.
const Script = "script.tsv"
