package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
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
	"activity.agent", "activity.customer", "activity.result"}

var activityWidths = []float32{160, 120, 130, 150, 110, 130, 320}

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
	for i, w := range activityWidths {
		v.table.SetColumnWidth(i, w)
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
		return e.Supervisor
	case 2:
		return auditActionText(e.Action)
	case 3:
		return e.CallID
	case 4:
		if e.Target != "" {
			return e.Agent + " → " + e.Target
		}
		return e.Agent
	case 5:
		return fmtPhone(e.Customer)
	case 6:
		s := tr("result." + e.Result)
		if e.Error != "" {
			s += ": " + e.Error
		}
		return s
	}
	return ""
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
