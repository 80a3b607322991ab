package handover

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/wecom-transfer/wecom-transfer/wecom"
)

// Journal is an append-only file of JSON lines: a header naming the
// handover, then one row per outcome as it happens. A handover run again
// with the same journal skips the items whose outcome is final and sends
// the rest. Each row is written with one write call, so an interrupted run
// loses at most the line it was writing, which the next open ignores.
type Journal struct {
	mu     sync.Mutex
	file   *os.File
	latest map[itemKey]Row // the last row of each item
	order  []itemKey       // items in the order they first appeared
}

type journalHeader struct {
	Type     string `json:"type"` // "journal"
	From     string `json:"from"`
	To       string `json:"to"`
	Resigned bool   `json:"resigned"`
}

// OpenJournal opens or creates the journal at path for the handover cfg.
// It fails when the file belongs to another handover, so a journal is never
// applied to the wrong pair of members.
func OpenJournal(path string, cfg Config) (*Journal, error) {
	want := journalHeader{Type: "journal", From: cfg.From, To: cfg.To, Resigned: cfg.Resigned}
	j := &Journal{latest: map[itemKey]Row{}}

	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	if len(data) > 0 {
		if err := j.load(path, data, want); err != nil {
			return nil, err
		}
	}

	j.file, err = os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	if len(data) == 0 {
		if err := j.writeLine(want); err != nil {
			j.file.Close()
			return nil, err
		}
	} else if data[len(data)-1] != '\n' {
		// End the torn last line so the next row starts on its own line.
		if _, err := j.file.Write([]byte("\n")); err != nil {
			j.file.Close()
			return nil, fmt.Errorf("write journal: %w", err)
		}
	}
	return j, nil
}

func (j *Journal) load(path string, data []byte, want journalHeader) error {
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for scanner.Scan() {
		line++
		text := scanner.Bytes()
		if line == 1 {
			var got journalHeader
			if err := json.Unmarshal(text, &got); err != nil || got.Type != "journal" {
				return fmt.Errorf("%s is not a wecom-transfer journal; give a new file name", path)
			}
			if got != want {
				return fmt.Errorf("journal %s belongs to the handover %s -> %s (resigned=%t), not %s -> %s (resigned=%t); give another file",
					path, got.From, got.To, got.Resigned, want.From, want.To, want.Resigned)
			}
			continue
		}
		var row Row
		if err := json.Unmarshal(text, &row); err != nil {
			continue // a line torn by an interrupted write
		}
		row.FromJournal = false
		j.apply(row)
	}
	return scanner.Err()
}

// apply keeps the last row of each item.
func (j *Journal) apply(row Row) {
	key := itemKey{row.Type, row.ID}
	if _, ok := j.latest[key]; !ok {
		j.order = append(j.order, key)
	}
	j.latest[key] = row
}

// isFinal reports whether a row settles its item: started, or failed for a
// reason that a second try in a moment cannot change.
func isFinal(row Row) bool {
	switch row.Outcome {
	case wecom.OutcomeStarted.String():
		return true
	case wecom.OutcomeFailed.String():
		return !wecom.IsTransient(row.ErrCode)
	}
	return false
}

// Final returns the final row of an item, if the journal holds one.
func (j *Journal) Final(kind, id string) (Row, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	row, ok := j.latest[itemKey{kind, id}]
	if !ok || !isFinal(row) {
		return Row{}, false
	}
	return row, true
}

// FinalRows returns the final row of every item, in journal order.
func (j *Journal) FinalRows() []Row {
	j.mu.Lock()
	defer j.mu.Unlock()
	var rows []Row
	for _, key := range j.order {
		if row := j.latest[key]; isFinal(row) {
			rows = append(rows, row)
		}
	}
	return rows
}

// Unknown returns the ids of kind whose last recorded outcome is unknown:
// an earlier run sent them but got no response, so they must be looked up
// before they are sent again.
func (j *Journal) Unknown(kind string) []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var ids []string
	for _, key := range j.order {
		if key.kind == kind && j.latest[key].Outcome == wecom.OutcomeUnknown.String() {
			ids = append(ids, key.id)
		}
	}
	return ids
}

// Record appends row to the file.
func (j *Journal) Record(row Row) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.apply(row)
	return j.writeLine(row)
}

func (j *Journal) writeLine(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	if _, err := j.file.Write(line); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	return nil
}

// Close flushes the file to disk and closes it.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	syncErr := j.file.Sync()
	return errors.Join(syncErr, j.file.Close())
}
