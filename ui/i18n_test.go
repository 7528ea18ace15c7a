package ui

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/earshot-app/earshot/assets"
	"github.com/earshot-app/earshot/monitor"
)

func loadJSON(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := assets.Translations.ReadFile("translations/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// usedKeys lists every translation key the package's code asks for: the literal keys
// given to tr and trf, and the keys built from model values.
func usedKeys(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`\btrf?\("([^"]+)"`)
	// keys written out but not given to tr at once: disabled-action reasons, monitoring
	// failures, call-end causes, registration failures
	why := regexp.MustCompile(`"((?:why|monitor\.err|end|reg\.fail)\.[a-z_]+)"`)
	var keys []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".") { // a prefix: its keys are listed below
				keys = append(keys, m[1])
			}
		}
		for _, m := range why.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1])
		}
	}
	for _, s := range monitor.Statuses {
		keys = append(keys, "status."+strings.ToLower(s.String()))
	}
	for _, c := range monitor.Columns {
		keys = append(keys, "column."+c.String())
	}
	for _, k := range monitor.ActionKinds {
		keys = append(keys, "action."+k.String(), "tip."+k.String())
	}
	for s := monitor.AgentUnknown; s <= monitor.AgentUnavailable; s++ {
		keys = append(keys, "agent_state."+strings.ToLower(s.String()))
	}
	for _, m := range []monitor.MonitorMode{monitor.MonitorListen, monitor.MonitorWhisper, monitor.MonitorBarge, monitor.MonitorPending} {
		keys = append(keys, "mode."+strings.ToLower(m.String()))
	}
	for _, err := range []error{monitor.ErrNotPermitted, monitor.ErrCallGone, monitor.ErrUnreachable, monitor.ErrAuth,
		monitor.ErrAgentUnavailable, monitor.ErrNotApplicable, monitor.ErrRejected, os.ErrClosed} {
		keys = append(keys, monitor.ErrorKey(err))
	}
	for _, r := range []string{"ok", "failed", "cancelled", "on", "off"} {
		keys = append(keys, "result."+r)
	}
	for _, a := range []string{"mode_listen", "mode_whisper", "mode_barge", "do_not_disturb"} {
		keys = append(keys, "audit."+a)
	}
	keys = append(keys, activityColumns...)
	slices.Sort(keys)
	return slices.Compact(keys)
}

// fyneKeys lists the message IDs of Fyne's own English translation (Cancel, OK, Quit,
// the file dialog, the date picker), read from the Fyne module in use.
func fyneKeys(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "fyne.io/fyne/v2").Output()
	if err != nil {
		t.Fatalf("find the Fyne module: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "lang", "translations", "base.en.json"))
	if err != nil {
		t.Fatalf("read Fyne's English strings: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestTranslationsAreComplete(t *testing.T) {
	en, vi := loadJSON(t, "en.json"), loadJSON(t, "vi.json")
	used := usedKeys(t)
	if len(used) < 150 {
		t.Fatalf("found only %d keys in the code; the scan is broken", len(used))
	}
	for _, k := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("en.json lacks %q", k)
		}
		if _, ok := vi[k]; !ok {
			t.Errorf("vi.json lacks %q", k)
		}
	}
	for _, k := range fyneKeys(t) {
		if _, ok := vi[k]; !ok {
			t.Errorf("vi.json lacks Fyne's own string %q", k)
		}
		if _, ok := en[k]; !ok {
			t.Errorf("en.json lacks Fyne's own string %q", k)
		}
	}
	for k := range en {
		if _, ok := vi[k]; !ok {
			t.Errorf("%q is in en.json but not in vi.json", k)
		}
	}
	for k, v := range vi {
		if _, ok := en[k]; !ok {
			t.Errorf("%q is in vi.json but not in en.json", k)
		}
		if s, ok := v.(string); ok && strings.TrimSpace(s) == "" {
			t.Errorf("vi.json: %q is empty", k)
		}
	}
	// template fields must match, or a sentence would lose its number or name
	field := regexp.MustCompile(`\{\{\.[A-Za-z]+\}\}`)
	for k, v := range en {
		es, ok1 := v.(string)
		vs, ok2 := vi[k].(string)
		if !ok1 || !ok2 {
			continue
		}
		ef, vf := field.FindAllString(es, -1), field.FindAllString(vs, -1)
		slices.Sort(ef)
		slices.Sort(vf)
		if !slices.Equal(slices.Compact(ef), slices.Compact(vf)) {
			t.Errorf("%q: English uses %v, Vietnamese %v", k, ef, vf)
		}
	}
}

func TestVietnameseUsesTheReferenceWords(t *testing.T) {
	vi := loadJSON(t, "vi.json")
	for k, want := range map[string]string{
		"app.heading":               "Giám sát cuộc gọi",
		"action.steal":              "Cướp cuộc gọi",
		"action.listen":             "Nghe lén",
		"action.transfer":           "Chuyển cuộc gọi",
		"action.barge":              "Tham gia cuộc gọi",
		"action.hangup":             "Ngắt cuộc gọi",
		"column.queue":              "Hàng đợi",
		"column.customer":           "Số khách hàng",
		"column.hotline":            "Số gọi",
		"column.status":             "Trạng thái cuộc gọi",
		"column.time_in_status":     "Thời gian trạng thái",
		"column.last_agent":         "Agent tiếp nhận cuối cùng",
		"column.answer_time":        "Thời gian trả lời",
		"column.start_time":         "Thời gian bắt đầu",
		"column.direction":          "Loại cuộc gọi",
		"direction.inbound":         "Gọi vào",
		"direction.outbound":        "Gọi ra",
		"column.campaign":           "Chiến dịch",
		"column.id":                 "Mã cuộc gọi",
		"filter.queue":              "Hàng đợi",
		"Cancel":                    "Hủy",
		"Quit":                      "Thoát",
		"tray.auto_answer":          "Tự động trả lời cuộc gọi giám sát",
		"settings.tab.language":     "Ngôn ngữ",
		"notify.monitoring.title":   "Cuộc gọi giám sát",
		"why.no_selection":          "Hãy chọn một cuộc gọi trong danh sách.",
		"settings.lang.system":      "Theo hệ thống",
		"phone.incoming_monitoring": "Cuộc gọi giám sát đến",
	} {
		if vi[k] != want {
			t.Errorf("vi.json %q = %q, want %q", k, vi[k], want)
		}
	}
}

func TestLanguageSettingSelectsVietnamese(t *testing.T) {
	t.Cleanup(func() {
		if err := SetupLanguage("en"); err != nil {
			t.Fatal(err)
		}
	})
	if err := SetupLanguage("vi"); err != nil {
		t.Fatal(err)
	}
	if got := tr("column.customer"); got != "Số khách hàng" {
		t.Fatalf("after SetupLanguage(vi) column.customer = %q", got)
	}
	if got := tr("Cancel"); got != "Hủy" {
		t.Fatalf("Fyne's Cancel = %q in Vietnamese", got)
	}
	if got := trf("label.listen", "Agent", "1001", "Customer", "0912 345 678"); got != "Nghe lén: agent 1001 với 0912 345 678" {
		t.Fatalf("label = %q", got)
	}
	tu := newTestUI(t, 10)
	saveCapture(t, tu, "grid-vi")
	if tu.win.Title() != "Earshot — Giám sát cuộc gọi" {
		t.Errorf("window title %q", tu.win.Title())
	}
	if r := tu.renderedRows()[0]; r[4] != "Đang gọi" {
		t.Errorf("status chip of a waiting call says %q", r[4])
	}
	if h := headers(tu.grid)[monitor.ColLastAgent]; h.Text != "Agent tiếp nhận cuối cùng" || h.Size().Width < headerWidth(monitor.ColLastAgent)-1 {
		t.Errorf("last agent header %q is %v wide, needs %v", h.Text, h.Size().Width, headerWidth(monitor.ColLastAgent))
	}
	if err := SetupLanguage("en"); err != nil {
		t.Fatal(err)
	}
	if got := tr("column.customer"); got != "Customer number" {
		t.Fatalf("back in English column.customer = %q", got)
	}
	if err := SetupLanguage("fr"); err == nil {
		t.Fatal("an unknown language was accepted")
	}
}
