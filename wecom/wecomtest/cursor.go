package wecomtest

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Cursors are opaque to clients, like WeCom's: base64url text of a kind
// letter and a position, so that a cursor of one list is rejected by
// another.
const (
	cursorResults    = "r" // transfer_result and resigned/transfer_result: offset
	cursorGroupChats = "g" // groupchat/list: offset
	cursorUnassigned = "u" // get_unassigned_list: userid and relation seq
)

func encodeCursor(kind string, parts ...string) string {
	text := kind + ":" + strings.Join(parts, ":")
	return base64.RawURLEncoding.EncodeToString([]byte(text))
}

// decodeCursor returns the parts of a cursor of the given kind, or false if
// the cursor is malformed or of another kind.
func decodeCursor(cursor, kind string, nparts int) ([]string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, false
	}
	parts := strings.SplitN(string(raw), ":", nparts+1)
	if len(parts) != nparts+1 || parts[0] != kind {
		return nil, false
	}
	return parts[1:], true
}

func encodeOffsetCursor(kind string, offset int) string {
	return encodeCursor(kind, strconv.Itoa(offset))
}

// decodeOffsetCursor returns the offset in a cursor; an empty cursor is
// offset 0.
func decodeOffsetCursor(cursor, kind string) (int, bool) {
	if cursor == "" {
		return 0, true
	}
	parts, ok := decodeCursor(cursor, kind, 1)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// The unassigned cursor puts the seq first, because a userid may contain
// the separator.
func encodeUnassignedCursor(c unassignedCursor) string {
	return encodeCursor(cursorUnassigned, strconv.FormatInt(c.seq, 10), c.userID)
}

func decodeUnassignedCursor(cursor string) (unassignedCursor, bool) {
	if cursor == "" {
		return unassignedCursor{}, true
	}
	parts, ok := decodeCursor(cursor, cursorUnassigned, 2)
	if !ok {
		return unassignedCursor{}, false
	}
	seq, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return unassignedCursor{}, false
	}
	return unassignedCursor{userID: parts[1], seq: seq}, true
}
