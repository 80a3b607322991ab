package wecomtest

import (
	"math/rand/v2"
	"time"
)

// Credentials and members of the corp that [DemoCorp] builds. The
// credentials are placeholders, not the shape of real WeCom values.
const (
	DemoCorpID = "wwsandboxdemo"
	DemoSecret = "sandbox-demo-secret"

	// DemoResignedMember resigned 30 days before the demo starts and has
	// 1,250 unassigned customers and 40 group chats, 4 of which are not
	// customer groups.
	DemoResignedMember = "zhangwei"

	// DemoSecondResignedMember resigned 3 days before the demo starts and
	// has 60 unassigned customers.
	DemoSecondResignedMember = "zhouqiang"

	// DemoActiveMember is employed and has 420 customers and 12 group
	// chats, 2 of which are not customer groups.
	DemoActiveMember = "lina"

	// DemoTakeoverMember has 150 customers and a customer limit 5 short of
	// taking over every customer of DemoResignedMember who does not
	// reject the transfer.
	DemoTakeoverMember = "wangfang"

	// DemoUnlimitedTakeoverMember has 35 customers, 3 group chats and no
	// customer limit.
	DemoUnlimitedTakeoverMember = "liuyang"

	// DemoPendingTakeoverMember has 12 customers and is taking over 5 of
	// DemoActiveMember's customers, 22 hours after the demo starts.
	DemoPendingTakeoverMember = "zhaolei"

	// DemoMemberWithoutCustomers has no customers, so
	// externalcontact/list returns errcode 84061 for it.
	DemoMemberWithoutCustomers = "chenjing"
)

// Sizes of the demo corp.
const (
	demoResignedCustomers        = 1250
	demoSecondResignedCustomers  = 60
	demoActiveCustomers          = 420
	demoTakeoverCustomers        = 150
	demoUnlimitedCustomers       = 35
	demoPendingTakeoverCustomers = 12
	demoResignedChats            = 40
	demoActiveChats              = 12
	demoUnlimitedChats           = 3
	demoOverLimit                = 5
)

// DemoIDs lists the ids of the demo corp and the customers and chats that
// hit each rule. The ids are the same every run.
type DemoIDs struct {
	ResignedCustomers       []string // DemoResignedMember's, in get_unassigned_list order
	SecondResignedCustomers []string // DemoSecondResignedMember's
	ActiveCustomers         []string // DemoActiveMember's, in externalcontact/list order

	// TransferredTwice are 6 of DemoActiveMember's customers with two
	// on-job transfers in the last 90 days: a new on-job transfer gets
	// per-customer errcode 40128.
	TransferredTwice []string

	// Pending are 5 of DemoActiveMember's customers whose transfer to
	// DemoPendingTakeoverMember started 2 hours before the demo: a new
	// transfer gets per-customer errcode 40129 until it completes.
	Pending []string

	// RefusingActive are 4 of DemoActiveMember's customers, and
	// RefusingResigned 8 of DemoResignedMember's, who reject any transfer:
	// its record ends in status 3. A resigned member's customer who
	// rejects is lost; an employed member's stays.
	RefusingActive   []string
	RefusingResigned []string

	// OverLimit are the last 5 of DemoResignedMember's customers who do
	// not reject. If all of that member's customers go to
	// DemoTakeoverMember in list order, these 5 end in status 4 (limit
	// reached) and return to the unassigned list.
	OverLimit []string

	ResignedChats []string // DemoResignedMember's chats
	ActiveChats   []string // DemoActiveMember's chats

	// NotCustomerGroupChats are 4 of ResignedChats and 2 of ActiveChats
	// that are internal chats: transfers return errcode 90501 for them.
	NotCustomerGroupChats []string

	// ChatTransferredTwice is one of ActiveChats with two on-job transfers
	// in the last 90 days: groupchat/onjob_transfer returns errcode 40128
	// for it.
	ChatTransferredTwice string
}

// DemoCorp returns the demo corp with its times set relative to now. See
// [DemoCorpAt].
func DemoCorp() *Corp { return DemoCorpAt(time.Now()) }

// DemoCorpAt returns a corp of realistic size for demos and tests, with its
// resignations, transfer history and pending transfers placed relative to
// now. Give the sandbox a clock that starts at now. The members are the
// Demo constants, and [DemoFixtures] lists the customers and chats. Its
// credentials are [DemoCorpID] and [DemoSecret].
func DemoCorpAt(now time.Time) *Corp {
	ids := DemoFixtures()
	c := NewCorp()
	c.SetCredentials(DemoCorpID, DemoSecret)

	day := 24 * time.Hour
	c.AddMember(Member{UserID: DemoResignedMember, ResignedAt: now.Add(-30 * day)})
	c.AddMember(Member{UserID: DemoSecondResignedMember, ResignedAt: now.Add(-3 * day)})
	c.AddMember(Member{UserID: DemoActiveMember})
	c.AddMember(Member{
		UserID:        DemoTakeoverMember,
		CustomerLimit: demoTakeoverCustomers + demoResignedCustomers - len(ids.RefusingResigned) - demoOverLimit,
	})
	c.AddMember(Member{UserID: DemoUnlimitedTakeoverMember})
	c.AddMember(Member{UserID: DemoPendingTakeoverMember})
	c.AddMember(Member{UserID: DemoMemberWithoutCustomers})

	addCustomers(c, DemoResignedMember, ids.ResignedCustomers)
	addCustomers(c, DemoSecondResignedMember, ids.SecondResignedCustomers)
	addCustomers(c, DemoActiveMember, ids.ActiveCustomers)
	addCustomers(c, DemoTakeoverMember, demoGenerator(3).customerIDs(demoTakeoverCustomers))
	addCustomers(c, DemoUnlimitedTakeoverMember, demoGenerator(4).customerIDs(demoUnlimitedCustomers))
	addCustomers(c, DemoPendingTakeoverMember, demoGenerator(5).customerIDs(demoPendingTakeoverCustomers))

	for _, ext := range ids.TransferredTwice {
		c.AddTransferHistory(ext, now.Add(-75*day), now.Add(-10*day))
	}
	for _, ext := range append(ids.RefusingActive, ids.RefusingResigned...) {
		c.SetRefusesTransfer(ext, true)
	}
	pending := pairKey{handover: DemoActiveMember, takeover: DemoPendingTakeoverMember}
	for _, ext := range ids.Pending {
		c.startTransfer(now.Add(-2*time.Hour), pending, ext)
	}

	addChats(c, DemoResignedMember, ids.ResignedChats, ids.NotCustomerGroupChats, "", nil)
	chatHistory := []time.Time{now.Add(-60 * day), now.Add(-15 * day)}
	addChats(c, DemoActiveMember, ids.ActiveChats, ids.NotCustomerGroupChats, ids.ChatTransferredTwice, chatHistory)
	addChats(c, DemoUnlimitedTakeoverMember, demoGenerator(8).chatIDs(demoUnlimitedChats), nil, "", nil)
	return c
}

func addCustomers(c *Corp, member string, ids []string) {
	for _, ext := range ids {
		c.AddCustomer(member, ext)
	}
}

// addChats adds the owner's chats, marking those in notCustomer as internal
// chats and giving the chat twice the transfer history.
func addChats(c *Corp, owner string, chatIDs, notCustomer []string, twice string, history []time.Time) {
	internal := make(map[string]bool, len(notCustomer))
	for _, id := range notCustomer {
		internal[id] = true
	}
	for _, id := range chatIDs {
		g := GroupChat{ChatID: id, Owner: owner, NotCustomerGroup: internal[id]}
		if id == twice {
			g.TransferredAt = history
		}
		c.AddGroupChat(g)
	}
}

// DemoFixtures returns the ids of the demo corp's customers and chats,
// which are the same every run.
func DemoFixtures() DemoIDs {
	var ids DemoIDs
	ids.ResignedCustomers = demoGenerator(0).customerIDs(demoResignedCustomers)
	ids.SecondResignedCustomers = demoGenerator(1).customerIDs(demoSecondResignedCustomers)
	ids.ActiveCustomers = demoGenerator(2).customerIDs(demoActiveCustomers)
	ids.ResignedChats = demoGenerator(6).chatIDs(demoResignedChats)
	ids.ActiveChats = demoGenerator(7).chatIDs(demoActiveChats)

	// The special cases sit at fixed positions in each list, spread out so
	// that a client meets them mid-batch. No refusing customer is among the
	// last demoOverLimit, which makes those the OverLimit ones.
	ids.TransferredTwice = pick(ids.ActiveCustomers, 17, 83, 151, 222, 290, 377)
	ids.Pending = pick(ids.ActiveCustomers, 40, 41, 42, 200, 201)
	ids.RefusingActive = pick(ids.ActiveCustomers, 99, 250, 333, 410)
	ids.RefusingResigned = pick(ids.ResignedCustomers, 64, 199, 402, 611, 777, 905, 1033, 1201)
	ids.OverLimit = append([]string(nil), ids.ResignedCustomers[demoResignedCustomers-demoOverLimit:]...)

	ids.NotCustomerGroupChats = append(pick(ids.ResignedChats, 7, 19, 28, 36), pick(ids.ActiveChats, 5, 11)...)
	ids.ChatTransferredTwice = ids.ActiveChats[2]
	return ids
}

func pick(ids []string, at ...int) []string {
	out := make([]string, len(at))
	for i, n := range at {
		out[i] = ids[n]
	}
	return out
}

// idGenerator makes ids shaped like WeCom's: a prefix, then base62 text
// from a PCG seeded by the list number, so each list is the same every run
// and lists do not collide.
type idGenerator struct{ rng *rand.Rand }

func demoGenerator(list uint64) idGenerator {
	return idGenerator{rng: rand.New(rand.NewPCG(0x5eed_de70, list))}
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func (g idGenerator) ids(prefix string, n, length int) []string {
	out := make([]string, n)
	for i := range out {
		b := []byte(prefix)
		for len(b) < length {
			b = append(b, base62[g.rng.IntN(len(base62))])
		}
		out[i] = string(b)
	}
	return out
}

// customerIDs returns external_userids of WeChat users: "wm" ids of 28
// characters, marked "wmDemo" so that no one mistakes them for real ones.
func (g idGenerator) customerIDs(n int) []string { return g.ids("wmDemo", n, 28) }

// chatIDs returns group chat ids: "wr" ids of 32 characters, marked "wrDemo".
func (g idGenerator) chatIDs(n int) []string { return g.ids("wrDemo", n, 32) }
