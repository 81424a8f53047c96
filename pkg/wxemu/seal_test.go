package wxemu

import (
	"strings"
	"testing"
)

// The published vectors of WeChat's message encryption, the same that internal/wxcrypt's tests
// open (pkg/ may not import them from there); their sources are named there.
const publishedKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

// Published pushes: their query, the Encrypt text of their body and their msg_signature.
var publishedSignatures = []struct {
	name, token, timestamp, nonce, encrypt, signature string
}{
	{"the open-platform component_verify_ticket push", "weixin", "1445308253", "2062414594",
		"wlHfmisYl+ktVgWbVpaTU8hCMsWCa6xuenc7seyAMl/2ZN+jjPU8dtZFl4QO6lpde8ltYPLXxd2PqfKGkZPbuhnok9hhmnBjFGD53Q4k8f1c71FES5/C0btL+6Vf7gl3EgT1hhjSHl5tylx3zo1/FpdF5qeoq0X6vdcXwWyZKg0RUugu2BoxBrtQTnSpvIQn4r1UuzID2Hu7R8Z9SMN5544tTLgaQ3GhsdLjoGJoRC1HxwvCo2QiPGawUxz+lL2Xp6J6r1hA8cnKwAUuDUBz7eJ4SWdDNhAdDI9PuKZm23/bSW2x+KQdjx+qQwJ9Qif+rVdHKOE4cObmrtLgaH8v3r57zRnrrUoeM1M8mAT19nafJHqkQrD28VWk20XEK2Ct096CCnHGUdU9VpA5o+ngMiTze3vRFHGB0I7p4q6IE9WIdCYhb+j7qKx3/IJxNILoVBrmLvXAwuRdPJbYXl1mKQ==", "4d6454ce7140ae24431fe54c8f66b9eee1f69723"},
	{"Tencent's WXBizMsgCrypt sample", "spamtest", "1409735669", "1320562132",
		"hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=", "5d197aaffba7e9b25a30732f161a50dee96bd5fa"},
	{"the open-platform unauthorized push", "weixin", "1445308253", "2062414594",
		"fcKi9fWnawR7Wz0rs4O2zJB/IDgjuySi8CLolfdNQwsVGCfU8KZLZmbXx4Rs7PZ40ZoQoW2PPxMM4Z9Hg3Bv20cbwmdj8P0qvO8NxYwhtw8LRVDfS07UarqzxmFELNq1YvH9Pt+QPnJ68frJdP7oCIdLjspm5LgF/5w0shH6IZgvsdxnrq2sgN4s63T5RoeW68UPfQI5+TmqNyoeLOd3rChHkZv4NjG6FqResybBQ+UCiF+b9HYhFaCxjcsSEvhUq7ynEuLI5GpPTabBIqh/FZnsSscibow2kYgYzTYkFHWLqAPiPyXdg4Ori+VoKcdRuEIiGsI9ECaJjC23PphjonaagCgEj2CX2dLBMU3dkNCZkPocT8EnB/S/yEqtQ0wc", "7717c240943705caedfef472a45dd2a6087e813c"},
}

func TestMsgSignatureOfThePublishedPushes(t *testing.T) {
	for _, v := range publishedSignatures {
		if got := MsgSignature(v.token, v.timestamp, v.nonce, v.encrypt); got != v.signature {
			t.Errorf("%s: MsgSignature = %s, want %s", v.name, got, v.signature)
		}
	}
}

// The WXBizMsgCrypt test vector as WxJava carries it: fixed random bytes, so the ciphertext is
// exact.
const (
	wxJavaToken     = "pamtest"
	wxJavaAppID     = "wxb11529c136998cb6"
	wxJavaRandom    = "aaaabbbbccccdddd"
	wxJavaReplyMsg  = "我是中文abcd123"
	wxJavaEncrypt   = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
	wxJavaReplyMsg2 = "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>"
	wxJavaEncrypt2  = "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"
)

func TestSealEncryptsToThePublishedCiphertext(t *testing.T) {
	for _, tt := range []struct{ name, message, encrypt string }{
		{"the short reply", wxJavaReplyMsg, wxJavaEncrypt},
		{"the video reply", wxJavaReplyMsg2, wxJavaEncrypt2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSealer(wxJavaToken, publishedKey, wxJavaAppID)
			if err != nil {
				t.Fatal(err)
			}
			s.random = strings.NewReader(wxJavaRandom)
			body, sig := s.Seal([]byte(tt.message), "1409304348", "xxxxxx")
			want := "<xml><AppId><![CDATA[" + wxJavaAppID + "]]></AppId><Encrypt><![CDATA[" + tt.encrypt + "]]></Encrypt></xml>"
			if string(body) != want {
				t.Errorf("body\n got  %s\n want %s", body, want)
			}
			if sig != MsgSignature(wxJavaToken, "1409304348", "xxxxxx", tt.encrypt) {
				t.Errorf("msg_signature %s does not sign the Encrypt text", sig)
			}
		})
	}
}

func TestNewSealerRefusesABadConfiguration(t *testing.T) {
	for name, args := range map[string][3]string{
		"no token":                {"", publishedKey, wxJavaAppID},
		"no appid":                {wxJavaToken, publishedKey, ""},
		"a short key":             {wxJavaToken, publishedKey[:42], wxJavaAppID},
		"a key that is no base64": {wxJavaToken, strings.Repeat("!", 43), wxJavaAppID},
	} {
		if _, err := NewSealer(args[0], args[1], args[2]); err == nil || strings.Contains(err.Error(), args[1]) {
			t.Errorf("%s: NewSealer = %v", name, err)
		}
	}
}
