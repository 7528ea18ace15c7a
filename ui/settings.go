package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
	"github.com/earshot-app/earshot/secret"
)

// prefColumns is the preference key of the visible grid columns.
const prefColumns = "grid.columns"

// visibleColumns reads the visible columns from the preferences (all when unset).
func visibleColumns(p fyne.Preferences) []monitor.Column {
	var out []monitor.Column
	for _, s := range p.StringList(prefColumns) {
		if c, ok := monitor.ParseColumn(s); ok {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return append([]monitor.Column(nil), monitor.Columns...)
	}
	return out
}

// saveConfig writes the settings with Options.SaveConfig, logging a failure.
func (u *UI) saveConfig() {
	if u.o.SaveConfig == nil {
		return
	}
	if err := u.o.SaveConfig(u.cfg); err != nil {
		u.log.Error("save settings", "err", err)
		u.setMessage(trf("settings.save_failed", "Detail", err.Error()))
	}
}

// settingsSize is the settings dialog's size: wide enough for the forms and three
// columns of column check boxes in either language.
var settingsSize = fyne.NewSize(760, 640)

// Settings tabs, in order.
const (
	tabPBX = iota
	tabSIP
	tabAudio
	tabMonitoring
	tabLanguage
)

// settingsForm is the settings dialog's widgets.
type settingsForm struct {
	u *UI

	driver      *widget.RadioGroup
	amiHost     *widget.Entry
	amiPort     *widget.Entry
	amiUser     *widget.Entry
	amiSecret   *widget.Entry
	amiTLS      *widget.Check
	endpoint    *widget.Entry
	stealCtx    *widget.Entry
	stealExten  *widget.Entry
	transferCtx *widget.Entry
	hotlineVar  *widget.Entry
	campaignVar *widget.Entry
	dirVar      *widget.Entry
	pbxTest     *widget.Button
	pbxResult   *widget.Label

	sipServer   *widget.Entry
	sipUser     *widget.Entry
	sipAuthUser *widget.Entry
	sipDisplay  *widget.Entry
	sipPassword *widget.Entry
	sipTrans    *widget.Select
	sipSRTP     *widget.Select
	sipExpiry   *widget.Entry
	sipProxy    *widget.Entry
	sipCAFile   *widget.Entry
	sipHints    *widget.Check
	sipTest     *widget.Button
	sipResult   *widget.Label

	audioIn    *widget.Select
	audioOut   *widget.Select
	audioRing  *widget.Select
	devices    []AudioDevice
	toneBtn    *widget.Button
	meter      *widget.ProgressBar
	meterBtn   *widget.Button
	meterStop  context.CancelFunc
	audioState *widget.Label

	supervisor *widget.Entry
	autoAnswer *widget.Check
	dnd        *widget.Check
	longWait   *widget.Entry
	// columns are the check boxes of the visible grid columns, in the grid's order.
	columns map[monitor.Column]*widget.Check
	colGrid *fyne.Container

	language *widget.RadioGroup

	// problem says, inside the dialog, why the settings cannot be saved yet.
	problem *widget.Label
	// saving is true while the secrets go to the keyring.
	saving  bool
	tabs    *container.AppTabs
	content fyne.CanvasObject
	sd      *shownDialog
}

// settingsError is bad input in the settings dialog: the sentence, and where to fix it.
type settingsError struct {
	msg   string
	tab   int
	focus fyne.Focusable
}

func (e *settingsError) Error() string { return e.msg }

func badInput(tab int, focus fyne.Focusable, msg string) error {
	return &settingsError{msg: msg, tab: tab, focus: focus}
}

// showSettings opens the settings dialog. Save checks the input first: on bad input the
// dialog stays open with every edit, says what is wrong and shows where.
func (u *UI) showSettings() {
	if u.dialogOpen() {
		return
	}
	f := u.newSettingsForm()
	u.settings = f
	f.sd = u.customConfirm(tr("settings.title"), f.content, tr("settings.save"), false, func() {
		f.stopMeter()
		u.setMessage(tr("settings.saved"))
	}, func() { f.stopMeter() })
	f.sd.enterConfirms = false
	f.sd.beforeConfirm = f.submit
	f.sd.d.Resize(settingsSize)
	f.loadSecretHints()
}

func entryWith(text, placeholder string) *widget.Entry {
	e := widget.NewEntry()
	e.SetText(text)
	e.PlaceHolder = placeholder
	return e
}

func (u *UI) newSettingsForm() *settingsForm {
	c := u.cfg
	f := &settingsForm{u: u}

	// PBX
	demo, ast := tr("settings.pbx.demo"), tr("settings.pbx.asterisk")
	f.driver = widget.NewRadioGroup([]string{demo, ast}, nil)
	f.driver.Horizontal = true
	if c.Driver == config.DriverAsterisk {
		f.driver.SetSelected(ast)
	} else {
		f.driver.SetSelected(demo)
	}
	f.amiHost = entryWith(c.Asterisk.Host, "pbx.example.com")
	f.amiPort = entryWith(strconv.Itoa(c.Asterisk.Port), "5038")
	f.amiUser = entryWith(c.Asterisk.User, "earshot")
	f.amiSecret = widget.NewPasswordEntry()
	f.amiSecret.PlaceHolder = tr("settings.secret_checking")
	f.amiTLS = widget.NewCheck(tr("settings.pbx.tls"), nil)
	f.amiTLS.SetChecked(c.Asterisk.TLS)
	f.endpoint = entryWith(c.Asterisk.SupervisorEndpoint, "PJSIP/2001")
	f.stealCtx = entryWith(c.Asterisk.StealContext, "earshot-steal")
	f.stealExten = entryWith(c.Asterisk.StealExten, "2001")
	f.transferCtx = entryWith(c.Asterisk.TransferContext, "earshot-transfer")
	f.hotlineVar = entryWith(c.Asterisk.HotlineVar, "HOTLINE")
	f.campaignVar = entryWith(c.Asterisk.CampaignVar, "CAMPAIGN")
	f.dirVar = entryWith(c.Asterisk.DirectionVar, "DIRECTION")
	f.pbxResult = widget.NewLabel("")
	f.pbxResult.Wrapping = fyne.TextWrapWord
	f.pbxTest = widget.NewButton(tr("settings.test"), f.testPBX)
	if u.o.TestPBX == nil {
		f.pbxTest.Disable()
	}
	astForm := widget.NewForm(
		widget.NewFormItem(tr("settings.pbx.host"), f.amiHost),
		widget.NewFormItem(tr("settings.pbx.port"), f.amiPort),
		widget.NewFormItem(tr("settings.pbx.user"), f.amiUser),
		widget.NewFormItem(tr("settings.pbx.secret"), f.amiSecret),
		widget.NewFormItem("", f.amiTLS),
		widget.NewFormItem(tr("settings.pbx.endpoint"), f.endpoint),
	)
	adv := widget.NewAccordion(widget.NewAccordionItem(tr("settings.pbx.advanced"), widget.NewForm(
		widget.NewFormItem(tr("settings.pbx.steal_context"), f.stealCtx),
		widget.NewFormItem(tr("settings.pbx.steal_exten"), f.stealExten),
		widget.NewFormItem(tr("settings.pbx.transfer_context"), f.transferCtx),
		widget.NewFormItem(tr("settings.pbx.hotline_var"), f.hotlineVar),
		widget.NewFormItem(tr("settings.pbx.campaign_var"), f.campaignVar),
		widget.NewFormItem(tr("settings.pbx.direction_var"), f.dirVar),
	)))
	pbx := container.NewVBox(f.driver, astForm, adv, container.NewBorder(nil, nil, f.pbxTest, nil, f.pbxResult),
		note(tr("settings.restart_note")))
	f.driver.OnChanged = func(s string) {
		if s == demo {
			astForm.Hide()
			adv.Hide()
		} else {
			astForm.Show()
			adv.Show()
		}
		pbx.Refresh()
	}
	f.driver.OnChanged(f.driver.Selected)

	// SIP
	f.sipServer = entryWith(c.SIP.Server, "pbx.example.com")
	f.sipUser = entryWith(c.SIP.User, "2001")
	f.sipAuthUser = entryWith(c.SIP.AuthUser, tr("settings.sip.auth_user_placeholder"))
	f.sipDisplay = entryWith(c.SIP.DisplayName, tr("settings.sip.display_placeholder"))
	f.sipPassword = widget.NewPasswordEntry()
	f.sipPassword.PlaceHolder = tr("settings.secret_checking")
	f.sipTrans = widget.NewSelect([]string{"udp", "tcp", "tls"}, nil)
	f.sipTrans.SetSelected(orDefault(c.SIP.Transport, "udp"))
	f.sipSRTP = widget.NewSelect([]string{"off", "sdes", "dtls"}, nil)
	f.sipSRTP.SetSelected(orDefault(c.SIP.SRTP, "off"))
	expiry := ""
	if c.SIP.Expiry > 0 {
		expiry = strconv.Itoa(int(time.Duration(c.SIP.Expiry) / time.Second))
	}
	f.sipExpiry = entryWith(expiry, strconv.Itoa(int(time.Duration(config.Default().SIP.Expiry)/time.Second)))
	f.sipProxy = entryWith(c.SIP.OutboundProxy, tr("settings.sip.proxy_placeholder"))
	f.sipCAFile = entryWith(c.SIP.CAFile, tr("settings.sip.ca_placeholder"))
	f.sipHints = widget.NewCheck(tr("settings.sip.hints"), nil)
	f.sipHints.SetChecked(c.SIP.AutoAnswerHints)
	f.sipResult = widget.NewLabel("")
	f.sipResult.Wrapping = fyne.TextWrapWord
	f.sipTest = widget.NewButton(tr("settings.test"), f.testSIP)
	if u.o.TestSIP == nil {
		f.sipTest.Disable()
	}
	sip := container.NewVBox(note(tr("settings.sip.demo_note")), widget.NewForm(
		widget.NewFormItem(tr("settings.sip.server"), f.sipServer),
		widget.NewFormItem(tr("settings.sip.user"), f.sipUser),
		widget.NewFormItem(tr("settings.sip.auth_user"), f.sipAuthUser),
		widget.NewFormItem(tr("settings.sip.password"), f.sipPassword),
		widget.NewFormItem(tr("settings.sip.display"), f.sipDisplay),
		widget.NewFormItem(tr("settings.sip.transport"), f.sipTrans),
		widget.NewFormItem(tr("settings.sip.srtp"), f.sipSRTP),
		widget.NewFormItem(tr("settings.sip.expiry"), f.sipExpiry),
		widget.NewFormItem(tr("settings.sip.proxy"), f.sipProxy),
		widget.NewFormItem(tr("settings.sip.ca_file"), f.sipCAFile),
		widget.NewFormItem("", f.sipHints),
	), container.NewBorder(nil, nil, f.sipTest, nil, f.sipResult), note(tr("settings.restart_note")))

	// Audio
	f.audioIn = widget.NewSelect(nil, nil)
	f.audioOut = widget.NewSelect(nil, nil)
	f.audioRing = widget.NewSelect(nil, nil)
	f.audioState = widget.NewLabel("")
	f.audioState.Wrapping = fyne.TextWrapWord
	f.toneBtn = widget.NewButton(tr("settings.audio.test_tone"), f.playTone)
	f.meter = widget.NewProgressBar()
	f.meter.TextFormatter = func() string { return "" }
	f.meterBtn = widget.NewButton(tr("settings.audio.test_mic"), f.toggleMeter)
	f.loadDevices()
	audio := container.NewVBox(widget.NewForm(
		widget.NewFormItem(tr("settings.audio.input"), f.audioIn),
		widget.NewFormItem(tr("settings.audio.output"), f.audioOut),
		widget.NewFormItem(tr("settings.audio.ring"), f.audioRing),
		widget.NewFormItem("", f.toneBtn),
		widget.NewFormItem(tr("settings.audio.mic_level"), container.NewBorder(nil, nil, nil, f.meterBtn, f.meter)),
	), f.audioState)

	// Monitoring
	f.supervisor = entryWith(supervisorName(c.Supervisor), tr("supervisor.default"))
	f.autoAnswer = widget.NewCheck(tr("settings.mon.auto_answer"), nil)
	f.autoAnswer.SetChecked(c.AutoAnswerMonitoring)
	f.dnd = widget.NewCheck(tr("tray.dnd"), nil)
	f.dnd.SetChecked(c.SIP.DoNotDisturb)
	f.longWait = entryWith(strconv.Itoa(int(time.Duration(c.LongWait)/time.Second)), "60")
	visible := visibleColumns(u.prefs)
	f.columns = make(map[monitor.Column]*widget.Check, len(monitor.Columns))
	f.colGrid = container.NewGridWithColumns(3)
	for _, col := range monitor.Columns {
		ch := widget.NewCheck(columnText(col), nil)
		ch.SetChecked(slices.Contains(visible, col))
		f.columns[col] = ch
		f.colGrid.Add(ch)
	}
	mon := container.NewVBox(widget.NewForm(
		widget.NewFormItem(tr("settings.mon.supervisor"), f.supervisor),
		widget.NewFormItem("", f.autoAnswer),
		widget.NewFormItem("", f.dnd),
		widget.NewFormItem(tr("settings.mon.long_wait"), f.longWait),
	), widget.NewLabelWithStyle(tr("settings.mon.columns"), fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), f.colGrid)

	// Language
	f.language = widget.NewRadioGroup([]string{tr("settings.lang.system"), "English", "Tiếng Việt"}, nil)
	switch c.Language {
	case "en":
		f.language.SetSelected("English")
	case "vi":
		f.language.SetSelected("Tiếng Việt")
	default:
		f.language.SetSelected(tr("settings.lang.system"))
	}
	langTab := container.NewVBox(f.language, note(tr("settings.lang.note")))

	f.tabs = container.NewAppTabs(
		container.NewTabItem(tr("settings.tab.pbx"), container.NewVScroll(pbx)),
		container.NewTabItem(tr("settings.tab.sip"), container.NewVScroll(sip)),
		container.NewTabItem(tr("settings.tab.audio"), container.NewVScroll(audio)),
		container.NewTabItem(tr("settings.tab.monitoring"), container.NewVScroll(mon)),
		container.NewTabItem(tr("settings.tab.language"), langTab),
	)
	f.problem = widget.NewLabel("")
	f.problem.Wrapping = fyne.TextWrapWord
	f.problem.Importance = widget.DangerImportance
	f.problem.Hide()
	f.content = container.NewBorder(f.problem, nil, nil, nil, f.tabs)
	return f
}

// loadSecretHints says in the password fields whether a secret is stored, never what
// it is; the OS keyring may be slow (or ask the user), so it is asked on a goroutine.
func (f *settingsForm) loadSecretHints() {
	c := f.u.cfg
	amiKey, sipKey := c.AMISecretKey(), c.SIPPasswordKey()
	f.u.spawn(func() {
		ami, sip := secretPlaceholder(amiKey), secretPlaceholder(sipKey)
		fyne.Do(func() {
			f.amiSecret.SetPlaceHolder(ami)
			f.sipPassword.SetPlaceHolder(sip)
		})
	})
}

func note(s string) fyne.CanvasObject {
	l := widget.NewLabel(s)
	l.Wrapping = fyne.TextWrapWord
	l.Importance = widget.LowImportance
	return l
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// secretPlaceholder says whether a secret is stored, never what it is. It asks the OS
// keyring: call it off the UI goroutine.
func secretPlaceholder(k secret.Key) string {
	if _, err := secret.Get(k); err == nil {
		return tr("settings.secret_stored")
	}
	return tr("settings.secret_none")
}

// formConfig returns the settings as the form shows them, validated; an error is a
// *settingsError naming the tab and field to fix.
func (f *settingsForm) formConfig() (config.Config, error) {
	c := f.u.cfg
	if f.driver.Selected == tr("settings.pbx.asterisk") {
		c.Driver = config.DriverAsterisk
	} else {
		c.Driver = config.DriverDemo
	}
	c.Asterisk.Host = strings.TrimSpace(f.amiHost.Text)
	port, err := strconv.Atoi(strings.TrimSpace(f.amiPort.Text))
	if err != nil || port <= 0 || port > 65535 {
		return c, badInput(tabPBX, f.amiPort, trf("settings.err.port", "Value", f.amiPort.Text))
	}
	c.Asterisk.Port = port
	c.Asterisk.User = strings.TrimSpace(f.amiUser.Text)
	c.Asterisk.TLS = f.amiTLS.Checked
	c.Asterisk.SupervisorEndpoint = strings.TrimSpace(f.endpoint.Text)
	c.Asterisk.StealContext = strings.TrimSpace(f.stealCtx.Text)
	c.Asterisk.StealExten = strings.TrimSpace(f.stealExten.Text)
	c.Asterisk.TransferContext = strings.TrimSpace(f.transferCtx.Text)
	c.Asterisk.HotlineVar = strings.TrimSpace(f.hotlineVar.Text)
	c.Asterisk.CampaignVar = strings.TrimSpace(f.campaignVar.Text)
	c.Asterisk.DirectionVar = strings.TrimSpace(f.dirVar.Text)
	if c.Driver == config.DriverAsterisk && (c.Asterisk.Host == "" || c.Asterisk.User == "") {
		focus := f.amiHost
		if c.Asterisk.Host != "" {
			focus = f.amiUser
		}
		return c, badInput(tabPBX, focus, tr("settings.err.ami_required"))
	}
	c.SIP.Server = strings.TrimSpace(f.sipServer.Text)
	c.SIP.User = strings.TrimSpace(f.sipUser.Text)
	c.SIP.AuthUser = strings.TrimSpace(f.sipAuthUser.Text)
	c.SIP.DisplayName = strings.TrimSpace(f.sipDisplay.Text)
	c.SIP.Transport = f.sipTrans.Selected
	c.SIP.SRTP = f.sipSRTP.Selected
	if (c.SIP.Server == "") != (c.SIP.User == "") {
		focus := f.sipServer
		if c.SIP.Server != "" {
			focus = f.sipUser
		}
		return c, badInput(tabSIP, focus, tr("settings.err.sip_required"))
	}
	c.SIP.Expiry = config.Default().SIP.Expiry
	if t := strings.TrimSpace(f.sipExpiry.Text); t != "" {
		d, err := parseSeconds(t)
		if err != nil || d < minExpiry || d > maxExpiry {
			return c, badInput(tabSIP, f.sipExpiry, trf("settings.err.expiry", "Value", f.sipExpiry.Text))
		}
		c.SIP.Expiry = config.Duration(d)
	}
	c.SIP.OutboundProxy = strings.TrimSpace(f.sipProxy.Text)
	c.SIP.CAFile = strings.TrimSpace(f.sipCAFile.Text)
	if c.SIP.CAFile != "" && c.SIP.Transport != "tls" {
		return c, badInput(tabSIP, f.sipCAFile, tr("settings.err.ca_needs_tls"))
	}
	c.SIP.AutoAnswerHints = f.sipHints.Checked
	c.Audio.Input = f.deviceID(f.audioIn.Selected, c.Audio.Input, true)
	c.Audio.Output = f.deviceID(f.audioOut.Selected, c.Audio.Output, false)
	c.Audio.Ring = f.deviceID(f.audioRing.Selected, c.Audio.Ring, false)
	c.Supervisor = strings.TrimSpace(f.supervisor.Text)
	if c.Supervisor == "" {
		return c, badInput(tabMonitoring, f.supervisor, tr("settings.err.supervisor"))
	}
	if c.Supervisor == tr("supervisor.default") {
		c.Supervisor = defaultSupervisor // the default name, shown translated
	}
	c.AutoAnswerMonitoring = f.autoAnswer.Checked
	c.SIP.DoNotDisturb = f.dnd.Checked
	lw, err := parseSeconds(f.longWait.Text)
	if err != nil {
		return c, badInput(tabMonitoring, f.longWait, trf("settings.err.long_wait", "Value", f.longWait.Text))
	}
	c.LongWait = config.Duration(lw)
	if len(f.visibleColumns()) == 0 {
		return c, badInput(tabMonitoring, nil, tr("settings.err.no_columns"))
	}
	switch f.language.Selected {
	case "English":
		c.Language = "en"
	case "Tiếng Việt":
		c.Language = "vi"
	default:
		c.Language = ""
	}
	return c, nil
}

// The registration expiry the dialog accepts.
const (
	minExpiry = 60 * time.Second
	maxExpiry = 24 * time.Hour
)

// visibleColumns are the columns checked in the dialog, in the grid's order.
func (f *settingsForm) visibleColumns() []monitor.Column {
	var out []monitor.Column
	for _, col := range monitor.Columns {
		if f.columns[col].Checked {
			out = append(out, col)
		}
	}
	return out
}

// parseSeconds reads a number of seconds ("90") or a Go duration ("1m30s").
func parseSeconds(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: not a number of seconds", s)
	}
	return d, nil
}

// showProblem shows why the settings cannot be saved inside the dialog, on the tab
// and in the field to fix (nil clears it).
func (f *settingsForm) showProblem(err error) {
	if err == nil {
		f.problem.SetText("")
		f.problem.Hide()
		return
	}
	f.problem.SetText(err.Error())
	f.problem.Show()
	var se *settingsError
	if errors.As(err, &se) {
		f.tabs.SelectIndex(se.tab)
		if se.focus != nil {
			if cv := f.u.win.Canvas(); cv != nil {
				cv.Focus(se.focus)
			}
		}
	}
}

// submit is the Save button: it checks the input and keeps the dialog open with the
// problem shown when it is bad; otherwise it stores the secrets in the OS keyring on a
// goroutine (the keyring may be slow or ask the user), then applies the settings and
// closes the dialog. It returns true when the dialog may close at once.
func (f *settingsForm) submit() bool {
	if f.saving {
		return false
	}
	c, err := f.formConfig()
	if err != nil {
		f.showProblem(err)
		return false
	}
	f.showProblem(nil)
	cols := f.visibleColumns()
	amiSecret, sipPassword := f.amiSecret.Text, f.sipPassword.Text
	if amiSecret == "" && sipPassword == "" {
		f.apply(c, cols)
		return true
	}
	f.saving = true
	f.sd.confirm.Disable()
	f.sd.confirm.SetText(tr("settings.saving"))
	f.u.spawn(func() {
		err := storeSecrets(c, amiSecret, sipPassword)
		fyne.Do(func() {
			f.saving = false
			f.sd.confirm.SetText(tr("settings.save"))
			f.sd.confirm.Enable()
			if err != nil {
				f.u.log.Error("settings: keyring", "err", err)
				f.showProblem(err)
				return
			}
			f.apply(c, cols)
			f.sd.finish(true)
		})
	})
	return false
}

// storeSecrets puts the typed secrets (those not empty) into the OS keyring.
func storeSecrets(c config.Config, amiSecret, sipPassword string) error {
	if amiSecret != "" {
		if err := secret.Set(c.AMISecretKey(), amiSecret); err != nil {
			return badInput(tabPBX, nil, trf("settings.err.keyring", "Detail", err.Error()))
		}
	}
	if sipPassword != "" {
		if err := secret.Set(c.SIPPasswordKey(), sipPassword); err != nil {
			return badInput(tabSIP, nil, trf("settings.err.keyring", "Detail", err.Error()))
		}
	}
	return nil
}

// apply saves the settings (secrets already in the keyring) and applies what can
// change without a restart.
func (f *settingsForm) apply(c config.Config, cols []monitor.Column) {
	u := f.u
	langChanged := c.Language != u.cfg.Language
	u.setConfig(c)
	u.saveConfig()
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = col.String()
	}
	u.prefs.SetStringList(prefColumns, names)
	u.grid.setColumns(visibleColumns(u.prefs))
	u.grid.longWait = time.Duration(c.LongWait)
	u.grid.me = c.Supervisor
	u.wall.longWait = time.Duration(c.LongWait)
	u.notify.longWait = time.Duration(c.LongWait)
	u.tray.dnd.Checked = c.SIP.DoNotDisturb
	u.tray.auto.Checked = c.AutoAnswerMonitoring
	u.tray.menu.Refresh()
	u.refreshNow()
	if langChanged {
		dialog.ShowInformation(tr("settings.tab.language"), tr("settings.lang.note"), u.win)
	}
}

func (f *settingsForm) testPBX() {
	c, err := f.formConfig()
	if err != nil {
		f.pbxResult.SetText(err.Error())
		return
	}
	if c.Driver == config.DriverDemo {
		f.pbxResult.SetText(tr("settings.pbx.demo_ok"))
		return
	}
	typed := f.amiSecret.Text
	f.pbxResult.SetText(tr("settings.testing"))
	f.pbxTest.Disable()
	f.u.spawn(func() {
		sec := typed
		if sec == "" {
			if s, err := c.AMISecret(); err == nil { // the OS keyring: off the UI goroutine
				sec = s
			}
		}
		ctx, cancel := context.WithTimeout(f.u.ctx, 15*time.Second)
		err := f.u.o.TestPBX(ctx, c, sec)
		cancel()
		fyne.Do(func() {
			f.pbxTest.Enable()
			if err != nil {
				f.u.log.Info("PBX test failed", "err", err)
				reason := errorText(err)
				if monitor.ErrorKey(err) == "error.other" {
					// the PBX checks (channel variables, contexts, endpoint, permissions)
					// come as sentences meant for the person setting the PBX up
					reason = err.Error()
				}
				f.pbxResult.SetText(trf("settings.test_failed", "Reason", reason))
				return
			}
			f.pbxResult.SetText(trf("settings.pbx.test_ok", "Host", c.Asterisk.Host))
		})
	})
}

func (f *settingsForm) testSIP() {
	c, err := f.formConfig()
	if err != nil {
		f.sipResult.SetText(err.Error())
		return
	}
	typed := f.sipPassword.Text
	f.sipResult.SetText(tr("settings.testing"))
	f.sipTest.Disable()
	f.u.spawn(func() {
		pw := typed
		if pw == "" {
			if s, err := c.SIPPassword(); err == nil { // the OS keyring: off the UI goroutine
				pw = s
			}
		}
		ctx, cancel := context.WithTimeout(f.u.ctx, 20*time.Second)
		err := f.u.o.TestSIP(ctx, c, pw)
		timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		fyne.Do(func() {
			f.sipTest.Enable()
			if err != nil {
				f.u.log.Info("SIP test failed", "err", err)
				f.sipResult.SetText(trf("settings.test_failed", "Reason", sipTestText(err, timedOut)))
				return
			}
			f.sipResult.SetText(trf("settings.sip.test_ok", "User", c.SIP.User, "Server", c.SIP.Server))
		})
	})
}

// sipTestText is the translated reason a test registration failed: the softphone's
// failure class when the test returns a *RegistrationError, no answer when it ran out
// of time.
func sipTestText(err error, timedOut bool) string {
	var re *RegistrationError
	switch {
	case errors.As(err, &re):
		return regFailureText(re.Failure)
	case timedOut || errors.Is(err, context.DeadlineExceeded):
		return regFailureText(RegFailUnreachable)
	}
	return tr("reg.fail.unknown")
}

// loadDevices fills the device lists (default device first).
func (f *settingsForm) loadDevices() {
	a := f.u.o.Audio
	if a == nil {
		f.audioState.SetText(tr("settings.audio.unavailable"))
		for _, s := range []*widget.Select{f.audioIn, f.audioOut, f.audioRing} {
			s.Disable()
		}
		f.toneBtn.Disable()
		f.meterBtn.Disable()
		return
	}
	devs, err := a.Devices()
	if err != nil {
		f.u.log.Warn("sound devices", "err", err)
		f.audioState.SetText(tr("settings.audio.error"))
		return
	}
	f.devices = devs
	def := tr("settings.audio.default")
	ins, outs := []string{def}, []string{def}
	for _, d := range devs {
		if d.Input {
			ins = append(ins, d.Name)
		}
		if d.Output {
			outs = append(outs, d.Name)
		}
	}
	c := f.u.cfg.Audio
	f.audioIn.SetOptions(ins)
	f.audioOut.SetOptions(outs)
	f.audioRing.SetOptions(outs)
	f.audioIn.SetSelected(f.deviceName(c.Input, def, true))
	f.audioOut.SetSelected(f.deviceName(c.Output, def, false))
	f.audioRing.SetSelected(f.deviceName(c.Ring, def, false))
}

func (f *settingsForm) deviceName(id, def string, input bool) string {
	for _, d := range f.devices {
		if d.Input == input && id != "" && (d.ID == id || d.Name == id) {
			return d.Name
		}
	}
	return def
}

func (f *settingsForm) deviceID(name, current string, input bool) string {
	if name == "" {
		return current
	}
	for _, d := range f.devices {
		if d.Input == input && d.Name == name {
			return d.ID
		}
	}
	return ""
}

func (f *settingsForm) playTone() {
	a := f.u.o.Audio
	if a == nil {
		return
	}
	out := f.deviceID(f.audioOut.Selected, f.u.cfg.Audio.Output, false)
	f.toneBtn.Disable()
	f.u.spawn(func() {
		ctx, cancel := context.WithTimeout(f.u.ctx, 10*time.Second)
		err := a.PlayTestTone(ctx, out)
		cancel()
		fyne.Do(func() {
			f.toneBtn.Enable()
			if err != nil {
				f.u.log.Warn("test tone", "err", err)
				f.audioState.SetText(tr("settings.audio.error"))
				return
			}
			f.audioState.SetText(tr("settings.audio.tone_played"))
		})
	})
}

func (f *settingsForm) toggleMeter() {
	if f.meterStop != nil {
		f.stopMeter()
		return
	}
	a := f.u.o.Audio
	if a == nil {
		return
	}
	in := f.deviceID(f.audioIn.Selected, f.u.cfg.Audio.Input, true)
	ctx, cancel := context.WithCancel(f.u.ctx)
	f.meterStop = cancel
	f.meterBtn.SetText(tr("settings.audio.stop_mic"))
	f.u.spawn(func() {
		err := a.MicMeter(ctx, in, func(v float64) { fyne.Do(func() { f.meter.SetValue(clamp01(v)) }) })
		if err != nil && ctx.Err() == nil {
			f.u.log.Warn("microphone meter", "err", err)
			fyne.Do(func() {
				f.audioState.SetText(tr("settings.audio.error"))
				f.stopMeter()
			})
		}
	})
}

func (f *settingsForm) stopMeter() {
	if f.meterStop != nil {
		f.meterStop()
		f.meterStop = nil
	}
	f.meterBtn.SetText(tr("settings.audio.test_mic"))
	f.meter.SetValue(0)
}
