package handover

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJournalReopenKeepsLastRowPerItem(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run.journal")
	cfg := Config{From: "zhangwei", To: "wangfang", Resigned: true}

	j, err := OpenJournal(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows := []Row{
		{Type: TypeCustomer, ID: "wm1", Outcome: "unknown"},
		{Type: TypeCustomer, ID: "wm1", Outcome: "started"},
		{Type: TypeCustomer, ID: "wm2", Outcome: "failed", ErrCode: 40096},
		{Type: TypeCustomer, ID: "wm3", Outcome: "failed", ErrCode: -1},
		{Type: TypeCustomer, ID: "wm4", Outcome: "unknown"},
		{Type: TypeGroupChat, ID: "wr1", Outcome: "not_sent"},
	}
	for _, r := range rows {
		if err := j.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j, err = OpenJournal(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()

	tests := []struct {
		kind, id  string
		wantFinal bool
	}{
		{TypeCustomer, "wm1", true},   // started after an unknown
		{TypeCustomer, "wm2", true},   // failed for good
		{TypeCustomer, "wm3", false},  // system busy: send again
		{TypeCustomer, "wm4", false},  // unknown: look up first
		{TypeGroupChat, "wr1", false}, // never sent
		{TypeCustomer, "wm9", false},  // not in the journal
	}
	for _, tt := range tests {
		if _, got := j.Final(tt.kind, tt.id); got != tt.wantFinal {
			t.Errorf("Final(%s, %s) = %t, want %t", tt.kind, tt.id, got, tt.wantFinal)
		}
	}
	if got := j.Unknown(TypeCustomer); len(got) != 1 || got[0] != "wm4" {
		t.Errorf("Unknown(customer) = %v, want [wm4]", got)
	}
}

func TestJournalRejectsOtherHandover(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run.journal")
	j, err := OpenJournal(path, Config{From: "a", To: "b"})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()

	_, err = OpenJournal(path, Config{From: "a", To: "c"})
	if err == nil || !strings.Contains(err.Error(), "belongs to the handover a -> b") {
		t.Errorf("open with another pair: err = %v, want it to name the journal's handover", err)
	}
}

func TestJournalRejectsForeignFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("shopping list\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenJournal(path, Config{From: "a", To: "b"})
	if err == nil || !strings.Contains(err.Error(), "not a wecom-transfer journal") {
		t.Errorf("err = %v, want a not-a-journal error", err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "shopping list\n" {
		t.Errorf("foreign file changed to %q", data)
	}
}

func TestJournalSkipsTornLastLine(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "run.journal")
	content := `{"type":"journal","from":"a","to":"b","resigned":false}
{"type":"customer","id":"wm1","outcome":"started","errcode":0,"errmsg":""}
{"type":"customer","id":"wm2","outco`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := OpenJournal(path, Config{From: "a", To: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := j.Final(TypeCustomer, "wm1"); !ok {
		t.Error("wm1 not final after reopening")
	}
	if err := j.Record(Row{Type: TypeCustomer, ID: "wm2", Outcome: "started"}); err != nil {
		t.Fatal(err)
	}
	j.Close()

	j, err = OpenJournal(path, Config{From: "a", To: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, ok := j.Final(TypeCustomer, "wm2"); !ok {
		t.Error("row written after a torn line was lost")
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"valid", Config{From: "a", To: "b"}, ""},
		{"missing from", Config{To: "b"}, "missing --from"},
		{"blank to", Config{From: "a", To: "  "}, "missing --to"},
		{"same member", Config{From: "a", To: "a"}, `both "a"`},
		{"message on resigned", Config{From: "a", To: "b", Resigned: true, Message: "hi"}, "on-job transfers only"},
		{"blank customer", Config{From: "a", To: "b", Customers: []string{"wm1", " "}}, "item 2 is blank"},
		{"negative poll", Config{From: "a", To: "b", PollInterval: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate() = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
