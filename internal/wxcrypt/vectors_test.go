package wxcrypt

import (
	"bytes"
	"encoding/base64"
	"testing"
)

// publishedKey is the EncodingAESKey of Tencent's samples, reused by every SDK's tests.
const publishedKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

// vector is a push as published: its query, body, and the message it decrypts to.
type vector struct {
	name                        string
	token, appID                string
	timestamp, nonce, signature string
	body                        string
	message                     string
}

var publishedVectors = []vector{
	{
		// An open-platform push, as WeChat sends it to the authorization event URL: a
		// component_verify_ticket with the <AppId>/<Encrypt> body.
		// Source: github.com/miaoxing/wechat, tests/Controller/WechatTest.php,
		// testComponentVerifyTicket (commit 3ebde9ab8c68a9642580b7847c21176fd12b6083). It
		// publishes the query, the body and the ticket; WeChat's own pages
		// (developers.weixin.qq.com/doc/oplatform/Third-party_Platforms/2.0/api/Before_Develop/component_verify_ticket.html)
		// publish only the decrypted form with placeholders, and no key.
		name:      "the open-platform component_verify_ticket push",
		token:     "weixin",
		appID:     "wx9eeba14a01d3807f",
		timestamp: "1445308253",
		nonce:     "2062414594",
		signature: "4d6454ce7140ae24431fe54c8f66b9eee1f69723",
		body: "<xml>\n    <AppId><![CDATA[wx9eeba14a01d3807f]]></AppId>\n    <Encrypt><![CDATA[" +
			"wlHfmisYl+ktVgWbVpaTU8hCMsWCa6xuenc7seyAMl/2ZN+jjPU8dtZFl4QO6lpde8ltYPLXxd2PqfKGkZPbuhnok9hhmnBjFGD53Q4k8f1c71FES5/C0btL+6Vf7gl3EgT1hhjSHl5tylx3zo1/FpdF5qeoq0X6vdcXwWyZKg0RUugu2BoxBrtQTnSpvIQn4r1UuzID2Hu7R8Z9SMN5544tTLgaQ3GhsdLjoGJoRC1HxwvCo2QiPGawUxz+lL2Xp6J6r1hA8cnKwAUuDUBz7eJ4SWdDNhAdDI9PuKZm23/bSW2x+KQdjx+qQwJ9Qif+rVdHKOE4cObmrtLgaH8v3r57zRnrrUoeM1M8mAT19nafJHqkQrD28VWk20XEK2Ct096CCnHGUdU9VpA5o+ngMiTze3vRFHGB0I7p4q6IE9WIdCYhb+j7qKx3/IJxNILoVBrmLvXAwuRdPJbYXl1mKQ==" +
			"]]></Encrypt>\n</xml>",
		message: "<xml><AppId><![CDATA[wx9eeba14a01d3807f]]></AppId>\n<CreateTime>1445308253</CreateTime>\n" +
			"<InfoType><![CDATA[component_verify_ticket]]></InfoType>\n" +
			"<ComponentVerifyTicket><![CDATA[ticket@@@1S8ekCXqBTTCMFLI9ekk2jh8u3NyelwnQoc_Rbpr3X0gKlGiYKhlQrERhGOrsGJ3OcQnWuszOI7iLwe-KaMIVA]]></ComponentVerifyTicket>\n</xml>",
	},
	{
		// Tencent's WXBizMsgCrypt sample (Sample.py, "Author: jonyqin", Sep 2014), decryption
		// part. Source: github.com/charlesXu86/Chatbot_CN, Chatbot_Web/impl/weixin/Sample.py
		// (commit 7e1cd5c26b67e8679160d65faa35792b9bcf76f6), a verbatim copy. The sample prints
		// the plaintext; it is published as expectPlainMsg in github.com/ilyydy/cf-openai,
		// src/platform/wechat/commonUtil.test.ts. The body is cut to ToUserName and Encrypt
		// there too; the sample's compatibility-mode copies of the fields are not signed.
		name:      "Tencent's WXBizMsgCrypt sample",
		token:     "spamtest",
		appID:     "wx2c2769f8efd9abc2",
		timestamp: "1409735669",
		nonce:     "1320562132",
		signature: "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
		body: "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>" +
			"<CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]></Content>" +
			"<MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[" +
			"hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=" +
			"]]></Encrypt></xml>",
		message: "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n" +
			"<CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[abcdteT]]></Content>\n" +
			"<MsgId>6054768590064713728</MsgId>\n</xml>",
	},
	{
		// An unauthorized push of the same platform as the first vector, with its published
		// decrypted fields (the logger expectation of testUnauthorizedButAppIdNotFound).
		// Source: github.com/miaoxing/wechat, tests/Controller/WechatTest.php.
		name:      "the open-platform unauthorized push",
		token:     "weixin",
		appID:     "wx9eeba14a01d3807f",
		timestamp: "1445308253",
		nonce:     "2062414594",
		signature: "7717c240943705caedfef472a45dd2a6087e813c",
		body: "<xml>\n    <AppId><![CDATA[wx9eeba14a01d3807f]]></AppId>\n    <Encrypt><![CDATA[" +
			"fcKi9fWnawR7Wz0rs4O2zJB/IDgjuySi8CLolfdNQwsVGCfU8KZLZmbXx4Rs7PZ40ZoQoW2PPxMM4Z9Hg3Bv20cbwmdj8P0qvO8NxYwhtw8LRVDfS07UarqzxmFELNq1YvH9Pt+QPnJ68frJdP7oCIdLjspm5LgF/5w0shH6IZgvsdxnrq2sgN4s63T5RoeW68UPfQI5+TmqNyoeLOd3rChHkZv4NjG6FqResybBQ+UCiF+b9HYhFaCxjcsSEvhUq7ynEuLI5GpPTabBIqh/FZnsSscibow2kYgYzTYkFHWLqAPiPyXdg4Ori+VoKcdRuEIiGsI9ECaJjC23PphjonaagCgEj2CX2dLBMU3dkNCZkPocT8EnB/S/yEqtQ0wc" +
			"]]></Encrypt>\n</xml>",
		message: "<?xml version=\"1.0\"?>\n<xml><AppId><![CDATA[wx9eeba14a01d3807f]]></AppId>" +
			"<AuthorizerAppid><![CDATA[wx1234567890123456]]></AuthorizerAppid><CreateTime>1445303136</CreateTime>" +
			"<InfoType><![CDATA[unauthorized]]></InfoType></xml>\n",
	},
}

func TestPublishedVectors(t *testing.T) {
	for _, v := range publishedVectors {
		c, err := New(Config{Token: v.token, EncodingAESKey: publishedKey, ComponentAppID: v.appID})
		if err != nil {
			t.Fatal(err)
		}
		t.Run(v.name+" decrypts to the published message", func(t *testing.T) {
			msg, err := c.Open(v.timestamp, v.nonce, v.signature, []byte(v.body))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if string(msg) != v.message {
				t.Fatalf("got  %q\nwant %q", msg, v.message)
			}
		})
		t.Run(v.name+" is refused with another nonce", func(t *testing.T) {
			if _, err := c.Open(v.timestamp, v.nonce+"1", v.signature, []byte(v.body)); !isSignature(err) {
				t.Fatalf("err = %v, want ErrSignature", err)
			}
		})
	}
}

func TestPublishedEvents(t *testing.T) {
	tests := []struct {
		vector int
		want   Event
	}{
		{0, Event{AppID: "wx9eeba14a01d3807f", CreateTime: 1445308253, InfoType: InfoComponentVerifyTicket,
			ComponentVerifyTicket: "ticket@@@1S8ekCXqBTTCMFLI9ekk2jh8u3NyelwnQoc_Rbpr3X0gKlGiYKhlQrERhGOrsGJ3OcQnWuszOI7iLwe-KaMIVA"}},
		{2, Event{AppID: "wx9eeba14a01d3807f", CreateTime: 1445303136, InfoType: InfoUnauthorized,
			AuthorizerAppID: "wx1234567890123456"}},
	}
	for _, tt := range tests {
		v := publishedVectors[tt.vector]
		t.Run(v.name+" parses to its published fields", func(t *testing.T) {
			ev, err := ParseEvent([]byte(v.message))
			if err != nil {
				t.Fatal(err)
			}
			if ev != tt.want {
				t.Fatalf("got  %+v\nwant %+v", ev, tt.want)
			}
		})
	}
}

// The WXBizMsgCrypt test vector as WxJava carries it: fixed random bytes, so the
// ciphertext is exact. It publishes no msg_signature.
// Source: github.com/binarywang/WxJava,
// weixin-java-common/src/test/java/me/chanjar/weixin/common/util/crypto/WxCryptUtilTest.java,
// read from the fork xz-wtx/WxJava (commit 27081809d6c209ba0de94d4bc066a69339d4a5a4);
// the same constants are in Tencent's Java sample WXBizMsgCryptTest.
const (
	wxJavaToken     = "pamtest"
	wxJavaTimestamp = "1409304348"
	wxJavaNonce     = "xxxxxx"
	wxJavaAppID     = "wxb11529c136998cb6"
	wxJavaRandom    = "aaaabbbbccccdddd"
	wxJavaReplyMsg  = "我是中文abcd123"
	wxJavaEncrypt   = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
	wxJavaReplyMsg2 = "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>"
	wxJavaEncrypt2  = "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"
)

func TestWxJavaVector(t *testing.T) {
	c, err := New(Config{Token: wxJavaToken, EncodingAESKey: publishedKey, ComponentAppID: wxJavaAppID})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, message, encrypt string }{
		{"the short reply", wxJavaReplyMsg, wxJavaEncrypt},
		{"the video reply", wxJavaReplyMsg2, wxJavaEncrypt2},
	} {
		t.Run(tt.name+" encrypts to the published ciphertext", func(t *testing.T) {
			if got := c.encrypt([]byte(wxJavaRandom), []byte(tt.message)); got != tt.encrypt {
				t.Fatalf("got  %s\nwant %s", got, tt.encrypt)
			}
		})
		t.Run(tt.name+" decrypts to the published message", func(t *testing.T) {
			body := "<xml><ToUserName><![CDATA[toUser]]></ToUserName><Encrypt><![CDATA[" + tt.encrypt + "]]></Encrypt></xml>"
			sig := Signature(wxJavaToken, wxJavaTimestamp, wxJavaNonce, tt.encrypt)
			msg, err := c.Open(wxJavaTimestamp, wxJavaNonce, sig, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if string(msg) != tt.message {
				t.Fatalf("got %q", msg)
			}
		})
	}
	t.Run("WxJava's wrong signature 12345 is refused", func(t *testing.T) {
		body := "<xml><Encrypt>" + wxJavaEncrypt2 + "</Encrypt></xml>"
		if _, err := c.Open(wxJavaTimestamp, wxJavaNonce, "12345", []byte(body)); !isSignature(err) {
			t.Fatalf("err = %v, want ErrSignature", err)
		}
	})
	t.Run("its random prefix is the published one", func(t *testing.T) {
		raw, _ := base64.StdEncoding.DecodeString(wxJavaEncrypt2)
		plain := decryptRaw(t, c.keys[0], raw)
		if !bytes.HasPrefix(plain, []byte(wxJavaRandom)) {
			t.Fatalf("prefix %q", plain[:16])
		}
	})
}
