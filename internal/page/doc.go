// Package page makes and serves the confirmation pages (docs/confirmation-pages.md).
//
// A share only takes effect when the Mini Program's administrator opens its
// confirm_url in WeChat. For each such link the function makes a page that a
// person can forward: GET /confirm/<token> shows the env, the appid, the link
// as text and as a QR code, and what to do with it.
//
// The function stores nothing: the token is the page's content, signed with
// HMAC-SHA256 (see Keys.Token for the format). Serve turns a token into a
// platform-neutral Response (status, headers, HTML body) that the HTTP layer
// copies into each platform's envelope. A bad token answers 404, an expired one
// 410, both as plain HTML pages; no token ever causes a 500.
//
// Every page is static HTML: no script, no outside resource, and a
// Content-Security-Policy whose style hash is computed from the embedded style
// sheet, so the policy and the page cannot drift apart. The pages are
// page.html rendered with html/template (parsed once per instance, when a page
// is first needed), which escapes each value for where it stands; the QR code
// is go-qrcode's image, encoded with image/png.
//
// The status page, GET /status/<token> (status.go, status.html), follows the same rules: a
// token of its own kind under the same keys (Keys.StatusToken, OpenStatus), refused as a
// confirmation page's is (Refused), its own style sheet hashed into its own policy, and the
// fleet's bars drawn as inline SVG. The caller gathers its values (Status).
//
// The package reads no environment and logs nothing: the caller passes keys,
// TTL, base URL and clock, and redacts secrets from the confirm_url before it
// makes a token (docs/results.md: secrets are masked everywhere).
package page
