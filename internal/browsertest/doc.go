// Package browsertest drives headless Chromium for tests: it opens a URL at a
// phone or desktop viewport, takes a full-page screenshot, records every
// network request the page made and every console message, and decodes QR
// codes from screenshots.
//
// It uses Debian's chromium package (apt-get install chromium; `make test`
// installs it). Without a browser, New and Require skip the test, except under
// CI=true, where they fail: CI must never pass by skipping.
package browsertest
