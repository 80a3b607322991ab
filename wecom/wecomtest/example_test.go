package wecomtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wecom-transfer/wecom-transfer/wecom/wecomtest"
)

// Example starts the sandbox on the demo corp, fetches a token and starts
// the transfer of two customers, one of which is already being
// transferred. A manual clock then moves past the 24-hour takeover.
func Example() {
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	srv := wecomtest.NewServer(wecomtest.DemoCorpAt(start), wecomtest.WithClock(wecomtest.NewManualClock(start)))
	defer srv.Close()

	token := getToken(srv)
	ids := wecomtest.DemoFixtures()
	body := map[string]any{
		"handover_userid": wecomtest.DemoActiveMember,
		"takeover_userid": wecomtest.DemoUnlimitedTakeoverMember,
		"external_userid": []string{ids.ActiveCustomers[0], ids.Pending[0]},
	}
	var resp struct {
		ErrCode  int `json:"errcode"`
		Customer []struct {
			ErrCode int `json:"errcode"`
		} `json:"customer"`
	}
	post(srv, "/cgi-bin/externalcontact/transfer_customer", token, body, &resp)
	fmt.Println("call errcode:", resp.ErrCode)
	fmt.Println("customer errcodes:", resp.Customer[0].ErrCode, resp.Customer[1].ErrCode)

	srv.Advance(24 * time.Hour)
	fmt.Println("followers after 24h:", srv.Followers(ids.ActiveCustomers[0]))
	// Output:
	// call errcode: 0
	// customer errcodes: 0 40129
	// followers after 24h: [liuyang]
}

func getToken(srv *wecomtest.Server) string {
	q := url.Values{"corpid": {srv.CorpID}, "corpsecret": {srv.Secret}}
	resp, err := http.Get(srv.URL + "/cgi-bin/gettoken?" + q.Encode())
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		panic(err)
	}
	return tok.AccessToken
}

func post(srv *wecomtest.Server, path, token string, body, out any) {
	raw, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	u := srv.URL + path + "?access_token=" + url.QueryEscape(token)
	resp, err := http.Post(u, "application/json", strings.NewReader(string(raw)))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		panic(err)
	}
}
