package share

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/envshare/envshare/pkg/wechat"
)

// scriptedWeChat answers every call with what its functions make of the request.
type scriptedWeChat struct {
	share    func(req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error)
	bindings func(req *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error)
}

func (w *scriptedWeChat) ShareEnv(_ context.Context, req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
	return w.share(req)
}

func (w *scriptedWeChat) UnshareEnv(_ context.Context, req *wechat.ShareEnvRequest) (*wechat.UnshareEnvResponse, error) {
	resp, err := w.share(req)
	if err != nil {
		return nil, err
	}
	return &wechat.UnshareEnvResponse{ErrList: resp.ErrList}, nil
}

func (w *scriptedWeChat) GetEnvID(_ context.Context, req *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error) {
	return w.bindings(req)
}

// bounded reports whether an entry's text is within MaxUpstreamText, its cut note aside, and
// valid UTF-8.
func bounded(text string) bool {
	return len(text) <= MaxUpstreamText+len("... (99999999 more bytes)") && utf8.ValidString(text)
}

// Texts from WeChat are bounded per entry (issue 23 #9), and only https links on WeChat's own
// hosts are delivered (issue 23, Also): anything else fails its entry with upstream_error.
func TestUpstreamTextsAreBounded(t *testing.T) {
	long := strings.Repeat("é", 60_000) // 120 KB, a character of two bytes to cut at
	links := []struct {
		link      string
		delivered bool
	}{
		{"https://mp.weixin.qq.com/wxopen/confirm?id=1&t=2", true},
		{"https://open.weixin.qq.com/x", true},
		{"https://weixin.qq.com/x", true},
		{"https://MP.WEIXIN.QQ.COM/x", true},
		{"https://mp.wechat.com/x", true},
		{"javascript:alert(document.domain)", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"http://mp.weixin.qq.com/x", false},
		{"https://evil.example/x", false},
		{"https://mp.weixin.qq.com.evil.example/x", false},
		{"https://evilweixin.qq.com/x", false},
		{"https://user:pass@mp.weixin.qq.com/x", false},
		{"//mp.weixin.qq.com/x", false},
		{"https://mp.weixin.qq.com/x?t=" + strings.Repeat("a", MaxConfirmURL), false},
		{"https://mp.weixin.qq.com/\xff", false},
		{"http://127.0.0.1:8081/__emu/confirm/c1", false}, // unless an origin of Options.ConfirmOrigins
	}
	ids := appids(0, len(links)+1)
	up := &scriptedWeChat{share: func(req *wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
		resp := &wechat.ShareEnvResponse{ErrList: []wechat.EnvError{{Env: "e1", AppID: ids[0], ErrMsg: "rejected " + long}}}
		for i, l := range links {
			resp.MsgInfoList = append(resp.MsgInfoList, wechat.MsgInfo{AppID: ids[i+1], URL: l.link})
		}
		return resp, nil
	}}
	res, err := newService(t, up, Options{}).Do(t.Context(), shareReq("share", wechat.EnvAppIDs{Env: "e1", AppIDs: ids}))
	if err != nil {
		t.Fatal(err)
	}
	if o := outcomeOf(t, res, "e1", ids[0]); o.Status != StatusFailed || !bounded(o.Error.Message) || !strings.HasPrefix(o.Error.Message, "rejected éé") {
		t.Errorf("a 120 KB errmsg gave %s: %.100q...", o.Status, o.Error.Message)
	}
	for i, l := range links {
		o := outcomeOf(t, res, "e1", ids[i+1])
		switch {
		case l.delivered && (o.Status != StatusPendingConfirmation || o.ConfirmURL != l.link):
			t.Errorf("%.60q: %s %+v, want it delivered", l.link, o.Status, o.Error)
		case !l.delivered && (o.Status != StatusFailed || o.Error.Code != CodeUpstreamError || o.ConfirmURL != "" || !bounded(o.Error.Message)):
			t.Errorf("%.60q: %s %q %+v, want failed upstream_error", l.link, o.Status, o.ConfirmURL, o.Error)
		}
	}

	t.Run("an origin of Options.ConfirmOrigins is delivered, and only that one", func(t *testing.T) {
		s := newService(t, up, Options{ConfirmOrigins: []string{"http://127.0.0.1:8081"}})
		res, err := s.Do(t.Context(), shareReq("share", wechat.EnvAppIDs{Env: "e1", AppIDs: ids}))
		if err != nil {
			t.Fatal(err)
		}
		if o := outcomeOf(t, res, "e1", ids[len(ids)-1]); o.Status != StatusPendingConfirmation {
			t.Errorf("the emulator's link: %s %+v", o.Status, o.Error)
		}
		if o := outcomeOf(t, res, "e1", ids[7]); o.Status != StatusFailed {
			t.Errorf("%q: %s, want failed", links[6].link, o.Status)
		}
	})

	t.Run("bindings: errmsg bounded, env lists of env ids and at most MaxEnvsPerAppID", func(t *testing.T) {
		many := make([]string, MaxEnvsPerAppID+1)
		for i := range many {
			many[i] = fmt.Sprintf("env-%d", i)
		}
		ids := appids(0, 4)
		up := &scriptedWeChat{bindings: func(req *wechat.GetEnvIDRequest) (*wechat.GetEnvIDResponse, error) {
			return &wechat.GetEnvIDResponse{ErrList: []wechat.AppError{{AppID: ids[0], ErrMsg: long}},
				RelationData: []wechat.Relation{{AppID: ids[1], EnvList: []string{"prod-1", "x" + long}},
					{AppID: ids[2], EnvList: many}, {AppID: ids[3], EnvList: many[:MaxEnvsPerAppID]}}}, nil
		}}
		res, err := newService(t, up, Options{}).Do(t.Context(), Request{Action: ActionBindings, AppIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		if len(b) > 8*MaxUpstreamText+MaxEnvsPerAppID*16 || len(res.Errors) != 3 || len(res.Bindings) != 1 {
			t.Fatalf("%d bytes: %.600s", len(b), b)
		}
		for _, e := range res.Errors {
			if !bounded(e.Error.Message) || (e.AppID != ids[0] && e.Error.Code != CodeUpstreamError) {
				t.Errorf("%s: %+v", e.AppID, e.Error)
			}
		}
	})

	t.Run("a whole failure's errmsg is bounded", func(t *testing.T) {
		up := &scriptedWeChat{share: func(*wechat.ShareEnvRequest) (*wechat.ShareEnvResponse, error) {
			return nil, &wechat.APIError{Endpoint: "batchshareenv", Code: 48001, Msg: long}
		}}
		_, err := newService(t, up, Options{}).Do(t.Context(), shareReq("share", wechat.EnvAppIDs{Env: "e1", AppIDs: ids[:1]}))
		e, ok := err.(*Error)
		if !ok || len(e.Message) > MaxUpstreamText+100 || !bounded(e.WechatErrmsg) {
			t.Fatalf("error %T %.200v", err, err)
		}
	})
}

// FuzzConfirmLink: whatever link WeChat sends, it is delivered only as an https URL on WeChat's
// hosts, within MaxConfirmURL bytes, as sent; anything else fails its entry, with a bounded
// message.
func FuzzConfirmLink(f *testing.F) {
	for _, s := range []string{"https://mp.weixin.qq.com/x?a=1", "javascript:alert(1)", "https://a@mp.weixin.qq.com",
		"https://mp.weixin.qq.com.evil/x", "HTTPS://MP.WEIXIN.QQ.COM/", "https://[::1]/", "\x00"} {
		f.Add(s)
	}
	s := New(&scriptedWeChat{}, Options{})
	f.Fuzz(func(t *testing.T, link string) {
		got, e := s.confirmLink(link)
		if e != nil {
			if got != "" || e.Code != CodeUpstreamError || !bounded(e.Message) {
				t.Fatalf("confirmLink(%q) = %q, %+v", link, got, e)
			}
			return
		}
		u, err := url.Parse(got)
		if got != link || err != nil || u.Scheme != "https" || u.User != nil || !wechatHost(u.Hostname()) || len(got) > MaxConfirmURL {
			t.Fatalf("confirmLink(%q) delivered %q", link, got)
		}
	})
}
