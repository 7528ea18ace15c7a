package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// activityView shows the audit log, newest first.
type activityView struct {
	log     *AuditLog
	entries []AuditEntry
	table   *widget.Table
	path    *widget.Label
	root    fyne.CanvasObject
}

var activityColumns = []string{"activity.time", "activity.supervisor", "activity.action", "activity.call_id",
	"activity.agent", "activity.target", "activity.customer", "activity.result"}

// activityWidths are the columns' least widths; a column is wider when its header
// needs it (in the interface language).
var activityWidths = []float32{160, 130, 150, 150, 220, 200, 130, 360}

// activityWidth is the width of an Activity column: enough for its header in full.
func activityWidth(col int) float32 {
	h := fyne.MeasureText(tr(activityColumns[col]), theme.TextSize(), fyne.TextStyle{Bold: true}).Width +
		4*theme.Padding()
	return max(activityWidths[col], h)
}

func newActivityView(l *AuditLog) *activityView {
	v := &activityView{log: l, path: widget.NewLabel("")}
	v.path.Importance = widget.LowImportance
	v.table = widget.NewTable(
		func() (int, int) { return len(v.entries), len(activityColumns) },
		func() fyne.CanvasObject {
			l := widget.NewLabel("")
			l.Truncation = fyne.TextTruncateEllipsis
			return l
		},
		func(id widget.TableCellID, o fyne.CanvasObject) {
			if id.Row >= len(v.entries) {
				return
			}
			o.(*widget.Label).SetText(v.cell(&v.entries[id.Row], id.Col))
		})
	v.table.ShowHeaderRow = true
	v.table.CreateHeader = func() fyne.CanvasObject {
		return widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	}
	v.table.UpdateHeader = func(id widget.TableCellID, o fyne.CanvasObject) {
		if id.Col >= 0 && id.Col < len(activityColumns) {
			o.(*widget.Label).SetText(tr(activityColumns[id.Col]))
		}
	}
	for i := range activityColumns {
		v.table.SetColumnWidth(i, activityWidth(i))
	}
	if l != nil {
		v.path.SetText(trf("activity.file", "Path", l.Path()))
		l.OnAppend(func(AuditEntry) { fyne.Do(v.reload) })
	} else {
		v.path.SetText(tr("activity.disabled"))
	}
	v.root = container.NewBorder(nil, v.path, nil, nil, v.table)
	v.reload()
	return v
}

func (v *activityView) reload() {
	if v.log == nil {
		return
	}
	v.entries = v.log.Recent(auditKeep)
	v.table.Refresh()
}

func (v *activityView) cell(e *AuditEntry, col int) string {
	switch col {
	case 0:
		return e.Time.Local().Format("2006-01-02 15:04:05")
	case 1:
		return supervisorName(e.Supervisor)
	case 2:
		return auditActionText(e.Action)
	case 3:
		return e.CallID
	case 4:
		return e.Agent
	case 5:
		return e.Target
	case 6:
		return fmtPhone(e.Customer)
	case 7:
		s := tr("result." + e.Result)
		if e.Error != "" {
			s += ": " + auditErrorText(e.Error)
		}
		return s
	}
	return ""
}

// auditErrorText is an audit entry's error as a sentence in the interface language:
// the entry holds the sentence's key and the English sentence ("error.call_gone: That
// call has already ended.").
func auditErrorText(s string) string {
	key, _, _ := strings.Cut(s, ":")
	if strings.Contains(key, " ") || !strings.Contains(key, ".") {
		return s // an entry of another kind: as it was written
	}
	if t := tr(key); t != key {
		return t
	}
	return s
}

func auditActionText(a string) string {
	switch a {
	case "listen", "whisper", "barge", "steal", "transfer", "hangup":
		return tr("action." + a)
	case "mode_listen", "mode_whisper", "mode_barge", "do_not_disturb":
		return tr("audit." + a)
	}
	return a
}
