// Package assets embeds Earshot's static files: the application icon, the tray state
// icons and the interface translations (English and Vietnamese). The icons are drawn by
// the small program in assets/gen; run `go generate ./assets` after changing it.
package assets

import (
	"embed"
	_ "embed" // for the go:embed byte slices below
)

//go:generate go run ./gen -out .

// Translations holds translations/en.json and translations/vi.json, in the format
// fyne.io/fyne/v2/lang reads (a flat JSON object of message IDs to text).
//
//go:embed translations/*.json
var Translations embed.FS

// TranslationsDir is the folder inside Translations that holds the JSON files.
const TranslationsDir = "translations"

// Icon is the application icon (512×512 PNG).
//
//go:embed icon.png
var Icon []byte

// TrayOK is the tray icon while the PBX feed is connected and the softphone registered.
//
//go:embed tray-ok.png
var TrayOK []byte

// TrayCall is the tray icon while the supervisor is in a call.
//
//go:embed tray-call.png
var TrayCall []byte

// TrayProblem is the tray icon while the PBX feed is lost or the softphone's
// registration failed.
//
//go:embed tray-problem.png
var TrayProblem []byte

// TrayIdle is the tray icon while connecting.
//
//go:embed tray-idle.png
var TrayIdle []byte
