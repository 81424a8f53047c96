package share

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Bounds of what an entry keeps of WeChat's texts: a broken proxy (or a WeChat that echoes a
// whole request) can send megabytes in one errmsg, link or env list, and every entry of a
// 10,000-pair request holds its own.
const (
	// MaxUpstreamText is the most bytes of an errmsg (or of any message quoting one) an entry
	// or an error keeps; the rest is cut, and the cut says how much.
	MaxUpstreamText = 1024
	// MaxConfirmURL is the longest confirmation link delivered (WeChat's are about 220 bytes;
	// a QR code holds 2331 at level M). A longer one fails its entry: a cut link is no link.
	MaxConfirmURL = 2048
	// MaxEnvsPerAppID is the most envs one appid's bindings may list; more fail that appid.
	MaxEnvsPerAppID = 100
)

// ConfirmHosts are WeChat's own hosts: a confirmation link is delivered only when it is an https
// link on one of them or on a subdomain (mp.weixin.qq.com, open.weixin.qq.com, ...), without
// user info; any other link (javascript:, data:, http:, another host) fails its entry with
// upstream_error. Options.ConfirmOrigins adds exact origins for local use.
var ConfirmHosts = []string{"weixin.qq.com", "wechat.com"}

// Clip cuts an upstream text to MaxUpstreamText bytes, at a character boundary, saying how many
// bytes were cut. Mask secrets first: a cut could leave part of one.
func Clip(text string) string {
	if len(text) <= MaxUpstreamText {
		return text
	}
	end := MaxUpstreamText
	for end > 0 && !utf8.RuneStart(text[end]) {
		end--
	}
	return fmt.Sprintf("%s... (%d more bytes)", text[:end], len(text)-end)
}

// upstreamText is the one treatment of a text from WeChat: masked, then clipped.
func (s *Service) upstreamText(text string) string { return Clip(s.opts.Redact(text)) }

// confirmLink checks a confirmation link WeChat sent (masked first, like any of its texts): an
// https link on ConfirmHosts, or on one of Options.ConfirmOrigins, at most MaxConfirmURL bytes.
// Anything else is the entry's upstream_error.
func (s *Service) confirmLink(raw string) (string, *EntryError) {
	link := s.opts.Redact(raw)
	refuse := func(why string) (string, *EntryError) {
		return "", &EntryError{Code: CodeUpstreamError, Message: "WeChat's confirmation link was refused: " + why}
	}
	if len(link) > MaxConfirmURL {
		return refuse(fmt.Sprintf("it is %d bytes, longer than the %d allowed", len(link), MaxConfirmURL))
	}
	u, err := url.Parse(link)
	if err != nil || !utf8.ValidString(link) {
		return refuse("it is not a URL")
	}
	origin := u.Scheme + "://" + u.Host
	if u.User != nil || u.Host == "" || !(u.Scheme == "https" && wechatHost(u.Hostname()) || slices.Contains(s.opts.ConfirmOrigins, origin)) {
		return refuse(fmt.Sprintf("%s is not an https link on %s", quote(origin), strings.Join(ConfirmHosts, " or ")))
	}
	return link, nil
}

// wechatHost reports whether host is one of ConfirmHosts or a subdomain of one.
func wechatHost(host string) bool {
	host = strings.ToLower(host)
	for _, h := range ConfirmHosts {
		if host == h || strings.HasSuffix(host, "."+h) {
			return true
		}
	}
	return false
}
