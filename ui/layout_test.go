package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"

	"github.com/earshot-app/earshot/config"
	"github.com/earshot-app/earshot/monitor"
)

// inLanguage switches the interface language for a test (back to English after it).
func inLanguage(t *testing.T, code string) {
	t.Helper()
	if err := SetupLanguage(code); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := SetupLanguage("en"); err != nil {
			t.Fatal(err)
		}
	})
}

// within reports whether o lies inside the area of outer on the canvas.
func within(o, outer fyne.CanvasObject) bool {
	d := fyne.CurrentApp().Driver()
	p, q := d.AbsolutePositionForObject(o), d.AbsolutePositionForObject(outer)
	return p.X >= q.X-0.5 && p.Y >= q.Y-0.5 &&
		p.X+o.Size().Width <= q.X+outer.Size().Width+0.5 && p.Y+o.Size().Height <= q.Y+outer.Size().Height+0.5
}

// The settings dialog has a fixed size that holds every tab, and every column check
// box on the Monitoring tab is inside the dialog, in full, in either language.
func TestSettingsMonitoringTabFits(t *testing.T) {
	for _, lang := range []string{"en", "vi"} {
		t.Run(lang, func(t *testing.T) {
			inLanguage(t, lang)
			tu := newTestUI(t, 5)
			tu.showSettings()
			tu.bg.Wait()
			f := tu.settings
			f.tabs.SelectIndex(tabMonitoring)
			if min := f.content.MinSize(); min.Width > settingsSize.Width-40 {
				t.Fatalf("the settings need %v wide, the dialog is %v", min.Width, settingsSize.Width)
			}
			if s := f.tabs.Size(); s.Width < settingsSize.Width-80 || s.Width > settingsSize.Width {
				t.Fatalf("the tabs are %v in a dialog of %v", s, settingsSize)
			}
			saveCapture(t, tu, "settings-monitoring-"+lang)
			for _, col := range monitor.Columns {
				ch := f.columns[col]
				if !within(ch, f.tabs) {
					t.Errorf("the %q check box lies outside the dialog", ch.Text)
				}
				if ch.Size().Width < ch.MinSize().Width {
					t.Errorf("the %q check box is %v wide, its text needs %v", ch.Text, ch.Size().Width, ch.MinSize().Width)
				}
			}
			for i := range f.tabs.Items {
				f.tabs.SelectIndex(i)
				saveCapture(t, tu, "settings-tab"+string(rune('0'+i))+"-"+lang)
			}
			tu.tap(tu.dialog.cancel)
		})
	}
}

// Activity view: a transfer's target has its own column, and every header shows in
// full in either language.
func TestActivityColumnsFit(t *testing.T) {
	for _, lang := range []string{"en", "vi"} {
		t.Run(lang, func(t *testing.T) {
			inLanguage(t, lang)
			tu := newTestUI(t, 10)
			c := tu.selectCall(t, 2)
			tu.requestAction(monitor.ActTransfer)
			tu.bg.Wait()
			tu.picker.search.SetText("1004")
			tu.picker.list.Select(0)
			tu.tap(tu.dialog.confirm)
			tu.action(t)
			waitAudit(t, tu.audit, 1)
			tu.bg.Wait()
			tu.tabs.SelectIndex(1)
			e := &tu.activity.entries[0]
			if tu.activity.cell(e, 4) != c.LastAgent || tu.activity.cell(e, 5) != "1004" {
				t.Errorf("agent %q, target %q", tu.activity.cell(e, 4), tu.activity.cell(e, 5))
			}
			saveCapture(t, tu, "activity-"+lang)
			for i, key := range activityColumns {
				need := fyne.MeasureText(tr(key), theme.TextSize(), fyne.TextStyle{Bold: true}).Width
				if w := activityWidth(i); w < need {
					t.Errorf("%q is %v wide, its header needs %v", tr(key), w, need)
				}
			}
			if activityWidth(4) < 200 {
				t.Errorf("the agent column is only %v wide", activityWidth(4))
			}
		})
	}
}

// Vietnamese: the softphone is "Điện thoại" everywhere, the default supervisor name
// and the softphone's texts are Vietnamese.
func TestVietnameseWording(t *testing.T) {
	inLanguage(t, "vi")
	ph := newFakePhone()
	tu := newTestUI(t, 10, func(o *Options) { o.Phone = ph; o.Config.Supervisor = config.Default().Supervisor })
	tu.showSettings()
	tu.bg.Wait()
	if got := tu.settings.tabs.Items[tabSIP].Text; got != "Điện thoại" {
		t.Errorf("softphone tab %q", got)
	}
	if got := tu.settings.supervisor.Text; got != "Giám sát viên" {
		t.Errorf("default name shown as %q", got)
	}
	tu.tap(tu.dialog.cancel)
	if got := trf("phone.error", "Detail", phoneErrorText(errNoCall)); got != "Điện thoại: Cuộc gọi này không còn trên điện thoại của bạn." {
		t.Errorf("softphone error %q", got)
	}
	tu.board.Apply(monitor.Event{Kind: monitor.EventStolen, CallID: callID(3), Supervisor: config.Default().Supervisor})
	tu.refreshNow()
	if got := tu.cellIn(t, tu.rowOf(callID(3)), monitor.ColLastAgent).label.Text; got != "Giám sát viên (đã cướp)" {
		t.Errorf("stolen by the default supervisor: %q", got)
	}
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: PhoneCall{ID: "c1", State: CallActive, RemoteNumber: "0912345678", Answered: time.Now()}})
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneCallChanged, Call: PhoneCall{ID: "c1", State: CallEnded, RemoteNumber: "0912345678",
		End: EndRemoteHungUp, EndReason: "the other party hung up"}})
	if want := "Cuộc gọi đã kết thúc: 0912 345 678 (bên kia đã gác máy)"; tu.message.Text != want {
		t.Errorf("call end %q, want %q", tu.message.Text, want)
	}
	tu.onPhoneEvent(PhoneEvent{Kind: PhoneRegistration, Registration: Registration{State: RegFailed, Account: "2001@pbx",
		Failure: RegFailUnreachable, Reason: "the PBX pbx did not answer"}})
	if want := "2001@pbx: đăng ký không thành công. Không kết nối được tới tổng đài. Hãy kiểm tra địa chỉ máy chủ và mạng."; tu.panel.regText.Text != want {
		t.Errorf("registration %q", tu.panel.regText.Text)
	}
	// the Activity view shows an error's sentence, not its key
	e := AuditEntry{Action: "hangup", Result: "failed", Error: "error.call_gone: That call has already ended."}
	if got := tu.activity.cell(&e, 7); got != "Thất bại: Cuộc gọi này đã kết thúc." {
		t.Errorf("activity result %q", got)
	}
}
