package page

import (
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"
)

// templates are page.html and status.html, parsed once per instance on first use (most invocations render no
// page, so not at cold start). html/template escapes each value for where it stands: text, an
// attribute, a URL attribute; the style sheet and the QR data URI are marked as trusted.
var templates = sync.OnceValue(func() *template.Template {
	t := template.Must(template.New("page").Parse(pageHTML)) // both files are embedded: every test parses them
	return template.Must(t.Parse(statusHTML))
})

// confirmData are the values of the confirmation page.
type confirmData struct {
	Title, Env, AppID, ConfirmURL string
	Made, MadeISO                 string
	Expires, ExpiresISO           string
	QR                            template.URL
	QRSize                        int
	Style                         template.CSS
}

// errorData are the values of an error page.
type errorData struct {
	Title, Heading, HeadingEN, Text, TextEN string
	Style                                   template.CSS
}

// render makes the confirmation page of l, valid until expires.
func render(l Link, expires time.Time) (string, error) {
	qr, size, err := qrImage(l.ConfirmURL)
	if err != nil {
		return "", err
	}
	return execute("confirm", confirmData{
		Title: "确认共享云开发环境 · Confirm environment sharing",
		Env:   l.Env, AppID: l.AppID, ConfirmURL: l.ConfirmURL,
		Made: showTime(l.Made), MadeISO: l.Made.UTC().Format(time.RFC3339),
		Expires: showTime(expires), ExpiresISO: expires.UTC().Format(time.RFC3339),
		QR: qr, QRSize: size,
		Style: template.CSS(style), // our own embedded style sheet
	})
}

func showTime(t time.Time) string { return t.In(beijing).Format("2006-01-02 15:04 MST") }

// errorPages are rendered once, when first needed: they depend on nothing but the status.
var errorPages = sync.OnceValue(func() map[int]string {
	const ask, askEN = "请向发送此链接的服务商索取新链接。", "Ask the service provider who sent it for a new link."
	pages := map[int]errorData{
		http.StatusNotFound:            {Heading: "链接无效", HeadingEN: "This link is not valid", Text: "此链接不存在或已被改动。" + ask, TextEN: "The link is wrong or incomplete. " + askEN},
		http.StatusGone:                {Heading: "页面已过期", HeadingEN: "This page has expired", Text: ask, TextEN: askEN},
		http.StatusInternalServerError: {Heading: "出错了", HeadingEN: "Something went wrong", Text: "请稍后再试。", TextEN: "Try again later."},
	}
	out := map[int]string{}
	for status, d := range pages {
		d.Title = d.Heading + " · " + d.HeadingEN
		d.Style = template.CSS(style)
		body, err := execute("error", d)
		if err != nil {
			panic(err) // constant values: caught by every test
		}
		out[status] = body
	}
	return out
})

func execute(name string, data any) (string, error) {
	var b strings.Builder
	if err := templates().ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	return b.String(), nil
}
