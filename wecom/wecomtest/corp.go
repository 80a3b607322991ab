package wecomtest

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wecom-transfer/wecom-transfer/generated/server"
)

// Credentials of a corp made by [NewCorp]. They are placeholders, not the
// shape of real WeCom values.
const (
	DefaultCorpID = "wwsandbox"
	DefaultSecret = "sandbox-secret"
)

// Member is a member of a sandbox corp.
type Member struct {
	UserID string

	// ResignedAt is the member's resignation time (dimission_time). The zero
	// time means the member is employed.
	ResignedAt time.Time

	// CustomerLimit is the number of customers the member may follow. A
	// takeover that would go past it ends in status 4 (limit reached). Zero
	// means no limit.
	CustomerLimit int
}

// GroupChat is a group chat of a sandbox corp.
type GroupChat struct {
	ChatID string
	Owner  string // userid of the owner

	// NotCustomerGroup marks an internal chat without customers. Transfers
	// of it fail with errcode 90501.
	NotCustomerGroup bool

	// TransferredAt lists earlier on-job transfers of the chat. A chat
	// transferred twice within 90 days fails with errcode 40128.
	TransferredAt []time.Time
}

// Corp is the in-memory state of one sandbox corp: members, customers, group
// chats and transfers. Build one with [NewCorp] or [DemoCorp] and hand it to
// [NewServer] or [NewHandler]. It is safe for concurrent use. The setup
// methods panic on ids that do not fit the corp (an unknown member, a
// duplicate userid), as a test fixture would.
type Corp struct {
	mu     sync.Mutex
	id     string
	secret string

	members   map[string]*member
	customers map[string]*customer
	chats     map[string]*groupChat
	chatOrder []*groupChat

	relationSeq int64
	transferSeq int64
	pending     transferQueue
	pairs       map[pairKey]*pairRecords
	chatDaily   map[dailyKey]int // chats moved away from one owner per day
	starts      map[string]int   // accepted transfer starts per customer
}

type member struct {
	Member
	relations []*relation // in seq order; removed ones stay until compacted
	byExt     map[string]*relation
	removed   int // removed entries still in relations
}

// relation is the follow link from a member to a customer. Its seq orders
// the member's customers and anchors the unassigned-list cursor.
type relation struct {
	seq     int64
	ext     string
	removed bool
}

type customer struct {
	id       string
	refuses  bool
	starts   []time.Time // accepted transfer starts, for the 90-day rule
	transfer *transfer   // the pending transfer, if any
}

type groupChat struct {
	GroupChat
	inherited bool // moved by groupchat/transfer
}

type transfer struct {
	seq    int64
	ext    string
	pair   pairKey
	due    time.Time
	record *record
}

type pairKey struct {
	resigned           bool
	handover, takeover string
}

type record struct {
	ext          string
	status       server.TakeoverStatus
	startedAt    time.Time
	takeoverTime time.Time
}

// pairRecords holds the latest record of each customer of one (flow,
// handover, takeover) triple in the order the customers first appeared, so
// that an offset cursor stays valid while records change.
type pairRecords struct {
	order []*record
	byExt map[string]*record
}

type dailyKey struct {
	owner string
	day   string // YYYY-MM-DD in China Standard Time
}

// NewCorp returns an empty corp whose gettoken credentials are
// [DefaultCorpID] and [DefaultSecret].
func NewCorp() *Corp {
	return &Corp{
		id:        DefaultCorpID,
		secret:    DefaultSecret,
		members:   make(map[string]*member),
		customers: make(map[string]*customer),
		chats:     make(map[string]*groupChat),
		pairs:     make(map[pairKey]*pairRecords),
		chatDaily: make(map[dailyKey]int),
		starts:    make(map[string]int),
	}
}

// SetCredentials sets the corp ID and app secret that gettoken accepts.
func (c *Corp) SetCredentials(corpID, secret string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.id, c.secret = corpID, secret
}

// Credentials returns the corp ID and app secret that gettoken accepts.
func (c *Corp) Credentials() (corpID, secret string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id, c.secret
}

// AddMember adds a member. It panics if the userid is empty or taken.
func (c *Corp) AddMember(m Member) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.UserID == "" {
		panic("wecomtest: AddMember: empty userid")
	}
	if c.members[m.UserID] != nil {
		panic(fmt.Sprintf("wecomtest: AddMember: userid %q already exists", m.UserID))
	}
	c.members[m.UserID] = &member{Member: m, byExt: make(map[string]*relation)}
}

// Resign marks an employed member as resigned at the given time. It panics
// if the member does not exist.
func (c *Corp) Resign(userID string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mustMember("Resign", userID).ResignedAt = at
}

// AddCustomer makes the customer externalUserID a contact of the member,
// creating the customer if it is new. A customer may have several members.
// It panics if the member does not exist or already has the customer.
func (c *Corp) AddCustomer(memberUserID, externalUserID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.mustMember("AddCustomer", memberUserID)
	if externalUserID == "" {
		panic("wecomtest: AddCustomer: empty external userid")
	}
	if m.byExt[externalUserID] != nil {
		panic(fmt.Sprintf("wecomtest: AddCustomer: %q already follows %q", memberUserID, externalUserID))
	}
	c.customerOrNew(externalUserID)
	c.addRelation(m, externalUserID)
}

// SetRefusesTransfer marks whether the customer rejects every transfer: once
// the 24 hours pass, its record gets status 3 (customer refused). It panics
// if the customer does not exist.
func (c *Corp) SetRefusesTransfer(externalUserID string, refuses bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mustCustomer("SetRefusesTransfer", externalUserID).refuses = refuses
}

// AddTransferHistory records earlier transfer starts of a customer, which
// count towards the limit of two on-job transfers per customer in 90 days.
// It panics if the customer does not exist.
func (c *Corp) AddTransferHistory(externalUserID string, at ...time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cu := c.mustCustomer("AddTransferHistory", externalUserID)
	cu.starts = append(cu.starts, at...)
}

// AddGroupChat adds a group chat. It panics if the chat id is empty or taken,
// or if the owner does not exist.
func (c *Corp) AddGroupChat(g GroupChat) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g.ChatID == "" {
		panic("wecomtest: AddGroupChat: empty chat id")
	}
	if c.chats[g.ChatID] != nil {
		panic(fmt.Sprintf("wecomtest: AddGroupChat: chat %q already exists", g.ChatID))
	}
	c.mustMember("AddGroupChat", g.Owner)
	g.TransferredAt = slices.Clone(g.TransferredAt)
	chat := &groupChat{GroupChat: g}
	c.chats[g.ChatID] = chat
	c.chatOrder = append(c.chatOrder, chat)
}

func (c *Corp) mustMember(method, userID string) *member {
	m := c.members[userID]
	if m == nil {
		panic(fmt.Sprintf("wecomtest: %s: no member %q", method, userID))
	}
	return m
}

func (c *Corp) mustCustomer(method, externalUserID string) *customer {
	cu := c.customers[externalUserID]
	if cu == nil {
		panic(fmt.Sprintf("wecomtest: %s: no customer %q", method, externalUserID))
	}
	return cu
}

func (c *Corp) customerOrNew(externalUserID string) *customer {
	cu := c.customers[externalUserID]
	if cu == nil {
		cu = &customer{id: externalUserID}
		c.customers[externalUserID] = cu
	}
	return cu
}

func (c *Corp) addRelation(m *member, ext string) {
	c.relationSeq++
	r := &relation{seq: c.relationSeq, ext: ext}
	m.relations = append(m.relations, r)
	m.byExt[ext] = r
}

// removeRelation drops the link and compacts the member's list once half
// of it is removed entries, so that removals stay cheap in large corps.
func (c *Corp) removeRelation(m *member, ext string) {
	r := m.byExt[ext]
	if r == nil {
		return
	}
	r.removed = true
	delete(m.byExt, ext)
	m.removed++
	if m.removed*2 < len(m.relations) {
		return
	}
	m.relations = slices.DeleteFunc(m.relations, func(r *relation) bool { return r.removed })
	m.removed = 0
}

// customerCount returns how many customers the member follows.
func (m *member) customerCount() int { return len(m.byExt) }

func (m *member) resigned() bool { return !m.ResignedAt.IsZero() }

// liveRelations returns the member's current links in seq order.
func (m *member) liveRelations() []*relation {
	out := make([]*relation, 0, len(m.byExt))
	for _, r := range m.relations {
		if !r.removed {
			out = append(out, r)
		}
	}
	return out
}

// sortedMemberIDs returns the userids of the members that pass keep, sorted.
func (c *Corp) sortedMemberIDs(keep func(*member) bool) []string {
	var ids []string
	for id, m := range c.members {
		if keep(m) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// transferQueue is a min-heap of pending transfers by due time, then by the
// order they started, so takeovers settle in the order WeCom would run them.
type transferQueue []*transfer

func (q transferQueue) Len() int { return len(q) }

func (q transferQueue) Less(i, j int) bool {
	if c := q[i].due.Compare(q[j].due); c != 0 {
		return c < 0
	}
	return cmp.Less(q[i].seq, q[j].seq)
}

func (q transferQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }

func (q *transferQueue) Push(x any) { *q = append(*q, x.(*transfer)) }

func (q *transferQueue) Pop() any {
	old := *q
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return t
}

var _ heap.Interface = (*transferQueue)(nil)
