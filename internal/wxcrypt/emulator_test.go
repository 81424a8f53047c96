package wxcrypt

import (
	"encoding/xml"
	"testing"

	"github.com/envshare/envshare/pkg/wxemu"
)

// The emulator seals its pushes with a Sealer of its own, written apart from this package;
// both sides are checked against the published vectors, and here against each other: every
// published message, sealed by the emulator, opens to itself.
func TestTheEmulatorsPushesOpen(t *testing.T) {
	for _, v := range publishedVectors {
		t.Run(v.name, func(t *testing.T) {
			sealer, err := wxemu.NewSealer(v.token, publishedKey, v.appID)
			if err != nil {
				t.Fatal(err)
			}
			c, err := New(Config{Token: v.token, EncodingAESKey: publishedKey, ComponentAppID: v.appID})
			if err != nil {
				t.Fatal(err)
			}
			body, sig := sealer.Seal([]byte(v.message), v.timestamp, v.nonce)
			msg, err := c.Open(v.timestamp, v.nonce, sig, body)
			if err != nil || string(msg) != v.message {
				t.Fatalf("Open = %q, %v; want the published message", msg, err)
			}
			if sig != Signature(v.token, v.timestamp, v.nonce, encryptOf(t, body)) {
				t.Error("the emulator's msg_signature differs from Signature")
			}
		})
	}
}

// encryptOf returns the Encrypt element of a push body.
func encryptOf(t *testing.T, body []byte) string {
	t.Helper()
	var envelope struct {
		Encrypt string `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(body, &envelope); err != nil {
		t.Fatal(err)
	}
	return envelope.Encrypt
}
