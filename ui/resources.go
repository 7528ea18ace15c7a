package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/earshot-app/earshot/assets"
)

var (
	appIcon         = fyne.NewStaticResource("earshot.png", assets.Icon)
	trayIconOK      = fyne.NewStaticResource("tray-ok.png", assets.TrayOK)
	trayIconCall    = fyne.NewStaticResource("tray-call.png", assets.TrayCall)
	trayIconProblem = fyne.NewStaticResource("tray-problem.png", assets.TrayProblem)
	trayIconIdle    = fyne.NewStaticResource("tray-idle.png", assets.TrayIdle)
)

// AppIcon is Earshot's application icon as a Fyne resource.
func AppIcon() fyne.Resource { return appIcon }

// desktopShortcutFind focuses the search box.
var desktopShortcutFind = desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: fyne.KeyModifierShortcutDefault}
