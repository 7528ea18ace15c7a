package ui

import (
	"fmt"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/lang"

	"github.com/earshot-app/earshot/assets"
	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
)

// defaultSupervisor is the supervisor's name in the settings of a first run; it is
// shown in the interface language.
var defaultSupervisor = config.Default().Supervisor

// supervisorName is how a supervisor's name is shown: the default name (and none)
// in the interface language, any other as it is.
func supervisorName(s string) string {
	if s == "" || s == defaultSupervisor {
		return tr("supervisor.default")
	}
	return s
}

// Languages lists the interface languages Earshot ships, as config.Config.Language
// spells them.
var Languages = []string{"en", "vi"}

var (
	langMu     sync.Mutex
	langLoaded bool
)

// loadTranslations makes sure Earshot's translations are loaded (once).
func loadTranslations() {
	langMu.Lock()
	defer langMu.Unlock()
	if langLoaded {
		return
	}
	if err := lang.AddTranslationsFS(assets.Translations, assets.TranslationsDir); err == nil {
		langLoaded = true
	}
}

// SetupLanguage loads Earshot's translations into Fyne and selects the interface
// language: code is "en", "vi", or "" to follow the operating system (Fyne's own rule:
// the best match among the shipped languages for the user's locale, English
// otherwise). It must run before any window is built; text already shown keeps its
// language.
//
// Fyne picks the language from the system locale and offers no call to choose it, so a
// chosen language is installed as the translation of the system's own locale: Fyne then
// matches that locale exactly and shows the chosen language, for Earshot's strings and
// Fyne's (Cancel, OK, Quit, ...) alike, on Linux, Windows and macOS.
func SetupLanguage(code string) error {
	langMu.Lock()
	defer langMu.Unlock()
	if err := lang.AddTranslationsFS(assets.Translations, assets.TranslationsDir); err != nil {
		return fmt.Errorf("load translations: %w", err)
	}
	langLoaded = true
	if code == "" {
		return nil
	}
	data, err := assets.Translations.ReadFile(assets.TranslationsDir + "/" + code + ".json")
	if err != nil {
		return fmt.Errorf("language %q is not available (want one of %s)", code, strings.Join(Languages, ", "))
	}
	sys := lang.SystemLocale()
	locales := []fyne.Locale{sys, fyne.Locale(sys.LanguageString()), "en"}
	for _, l := range locales {
		if err := lang.AddTranslationsForLocale(data, l); err != nil {
			return fmt.Errorf("select language %q: %w", code, err)
		}
	}
	return nil
}

// tr returns the translation of key in the interface language; data fills the
// template fields ({{.Agent}}) of messages that have them. A key missing from the
// translation files shows as itself (the translation tests fail on that).
func tr(key string, data ...any) string {
	if len(data) > 0 {
		return lang.X(key, key, data[0])
	}
	return lang.X(key, key)
}

// trf is tr with template data given as alternating names and values.
func trf(key string, kv ...any) string {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return lang.X(key, key, m)
}

func statusText(s monitor.Status) string {
	return tr("status." + strings.ToLower(s.String()))
}

func directionText(d monitor.Direction) string {
	switch d {
	case monitor.Inbound:
		return tr("direction.inbound")
	case monitor.Outbound:
		return tr("direction.outbound")
	}
	return ""
}

func columnText(c monitor.Column) string { return tr("column." + c.String()) }

func actionText(k monitor.ActionKind) string { return tr("action." + k.String()) }

func agentStateText(s monitor.AgentState) string {
	return tr("agent_state." + strings.ToLower(s.String()))
}

func monitorModeText(m monitor.MonitorMode) string {
	if m == monitor.MonitorNone {
		return ""
	}
	return tr("mode." + strings.ToLower(m.String()))
}

// errorText is the clear, translated sentence for an error from a PBX driver.
func errorText(err error) string {
	key := monitor.ErrorKey(err)
	if key == "" {
		return ""
	}
	return tr(key)
}
