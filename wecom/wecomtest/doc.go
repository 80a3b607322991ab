// Package wecomtest is a stateful fake of the WeCom (企业微信) customer
// transfer API (客户继承), for testing integrations offline, for demos and
// for load tests with injected faults.
//
// A [Sandbox] serves one [Corp] over HTTP as WeCom does: HTTP 200 with an
// errcode envelope, access tokens from gettoken, request checks against the
// OpenAPI spec in package openapi, and the transfer rules with the errcodes
// WeCom returns for them. [NewServer] starts one on a loopback port;
// [NewHandler] returns one for a listener the caller runs.
//
//	srv := wecomtest.NewServer(wecomtest.DemoCorp())
//	defer srv.Close()
//	// Point the client at srv.URL with srv.CorpID and srv.Secret.
//
// # State
//
// A [Corp] holds members (employed or resigned, with an optional customer
// limit), customers and the members who follow them, group chats, and the
// transfers started so far. [NewCorp] returns an empty corp to fill with
// [Corp.AddMember], [Corp.AddCustomer] and [Corp.AddGroupChat]; [DemoCorp]
// returns one of realistic size whose special cases [DemoFixtures] lists.
//
// # Rules
//
// A customer transfer that WeCom accepts (per-customer errcode 0) waits 24
// hours on the sandbox clock. Then it ends as complete (status 1), as
// refused (status 3) for customers marked with [Corp.SetRefusesTransfer],
// or as limit reached (status 4) when the takeover member is at their
// customer limit at that moment. The sandbox settles due transfers when a
// call reads the customer, so it runs no background goroutines.
//
// The per-customer errcodes are 40096 (unknown customer), 40131 (not a
// customer of the handover member), 40129 (a transfer is pending) and 40128
// (two on-job transfers within 90 days). Call-level errcodes are 40130
// (handover and takeover are the same member), 60111 (unknown member, or a
// resigned one where an employed one is needed) and 40097 (resigned
// transfer of an employed member). Group chat transfers report 90500,
// 90501, 90502, 90504, 90508, 40128 and 45009 per chat.
//
// # Time
//
// Every rule reads the sandbox [Clock]: [RealClock] by default,
// a [ManualClock] for tests, or a [ScaledClock] that runs many times faster
// than the wall clock for demos. [Sandbox.Advance] moves any of them
// forward.
//
// # Faults
//
// [WithFaults] takes a [FaultFunc] that picks a [Fault] for each call:
// added latency, an errcode such as -1 or 45009, an HTML 502 page, a
// text/plain content type, or a connection dropped before or after the call
// takes effect. [WithRevokeEvery] and [Sandbox.RevokeTokens] revoke tokens
// early, as WeCom may. [Sandbox.Stats] counts tokens, calls and accepted
// transfer starts per customer, so a load test can show that no customer
// was transferred twice.
//
// Where WeCom's behaviour is undocumented, the sandbox picks the stricter
// reading and notes it in a comment at that spot.
package wecomtest
