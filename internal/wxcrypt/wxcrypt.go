package wxcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinel errors; test them with errors.Is.
var (
	// ErrSignature: msg_signature does not match the body (answer 401).
	ErrSignature = errors.New("wxcrypt: bad message signature")
	// ErrMalformed: the body is not a push envelope, or Encrypt does not decrypt (answer 400).
	ErrMalformed = errors.New("wxcrypt: malformed message")
	// ErrAppID: the message decrypts but was encrypted for another appid (answer 400).
	ErrAppID = errors.New("wxcrypt: message is for another appid")
	// ErrConfig: New was given an unusable configuration.
	ErrConfig = errors.New("wxcrypt: invalid configuration")
)

// EncodingAESKeyLen is the length of an EncodingAESKey: 43 base64 characters, 32 bytes.
const EncodingAESKeyLen = 43

const (
	randomLen = 16 // random prefix of the plaintext
	lengthLen = 4  // big-endian length of the XML message
	padBlock  = 32 // WeChat pads to 32 bytes, not to AES's 16
)

// Config is what a third-party platform registers with WeChat for its pushes.
type Config struct {
	Token                  string // message verification token (消息校验Token)
	EncodingAESKey         string // message encryption key (消息加解密Key), 43 characters
	PreviousEncodingAESKey string // optional: the key before the last rotation, tried second
	ComponentAppID         string // the platform's appid, which ends every plaintext
}

// Crypto opens and seals the pushes of one platform. It is safe for concurrent use.
type Crypto struct {
	token string
	appID []byte
	keys  [][]byte // current first, then the previous one if any
}

// New validates cfg. Its errors name the field at fault, never its value.
func New(cfg Config) (*Crypto, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: Token is empty", ErrConfig)
	}
	if cfg.ComponentAppID == "" {
		return nil, fmt.Errorf("%w: ComponentAppID is empty", ErrConfig)
	}
	key, err := decodeKey("EncodingAESKey", cfg.EncodingAESKey)
	if err != nil {
		return nil, err
	}
	c := &Crypto{token: cfg.Token, appID: []byte(cfg.ComponentAppID), keys: [][]byte{key}}
	if cfg.PreviousEncodingAESKey != "" {
		prev, err := decodeKey("PreviousEncodingAESKey", cfg.PreviousEncodingAESKey)
		if err != nil {
			return nil, err
		}
		c.keys = append(c.keys, prev)
	}
	return c, nil
}

func decodeKey(field, s string) ([]byte, error) {
	if len(s) != EncodingAESKeyLen {
		return nil, fmt.Errorf("%w: %s must be %d characters, not %d", ErrConfig, field, EncodingAESKeyLen, len(s))
	}
	// Not Strict: WeChat's keys are 43 random characters, so the 2 bits past the
	// 32nd byte are often not zero.
	key, err := base64.StdEncoding.DecodeString(s + "=")
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%w: %s is not base64 of 32 bytes", ErrConfig, field)
	}
	return key, nil
}

// Token lengths: WeChat's console takes a message verification token of 3 to 32 letters and
// digits; envshare wants at least MinTokenLen, the shortest value its redactor masks (a shorter
// one would match ordinary words, and is weak besides).
const (
	MinTokenLen = 8
	MaxTokenLen = 32
)

// TokenProblem says what is wrong with a message verification token, or "" when nothing is.
// It never quotes the value.
func TokenProblem(token string) string {
	if len(token) < MinTokenLen || len(token) > MaxTokenLen {
		return fmt.Sprintf("must be %d to %d characters (WeChat's 消息校验Token takes up to %d letters and digits; "+
			"envshare needs at least %d to mask it), not %d", MinTokenLen, MaxTokenLen, MaxTokenLen, MinTokenLen, len(token))
	}
	return ""
}

// KeyProblem says what is wrong with an EncodingAESKey, or "" when nothing is. It never quotes
// the value.
func KeyProblem(key string) string {
	switch {
	case len(key) != EncodingAESKeyLen:
		return fmt.Sprintf("must be the %d-character EncodingAESKey (消息加解密Key), not %d characters", EncodingAESKeyLen, len(key))
	case decodeKeyErr(key) != nil:
		return fmt.Sprintf("must be the %d-character EncodingAESKey (消息加解密Key): it is not base64 of 32 bytes", EncodingAESKeyLen)
	}
	return ""
}

func decodeKeyErr(key string) error {
	_, err := decodeKey("EncodingAESKey", key)
	return err
}

// Signature is WeChat's msg_signature: the hex SHA-1 of the four strings sorted and joined.
func Signature(token, timestamp, nonce, encrypt string) string {
	parts := []string{token, timestamp, nonce, encrypt}
	slices.Sort(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// Verify checks a push's signature (the query's timestamp, nonce and msg_signature, over the
// body's Encrypt) without decrypting it: nil for a push WeChat signed, whatever it holds.
func (c *Crypto) Verify(timestamp, nonce, msgSignature string, body []byte) error {
	_, err := c.verify(timestamp, nonce, msgSignature, body)
	return err
}

// verify checks the signature and returns the body's Encrypt. The body is
// <xml><AppId>…</AppId><Encrypt>…</Encrypt></xml>; other elements (ToUserName, …) are
// ignored. Errors never quote the body.
func (c *Crypto) verify(timestamp, nonce, msgSignature string, body []byte) (string, error) {
	fields, err := readFlat(body)
	if err != nil {
		return "", err
	}
	encrypt := fields["Encrypt"]
	if encrypt == "" {
		return "", fmt.Errorf("%w: no Encrypt element", ErrMalformed)
	}
	want := Signature(c.token, timestamp, nonce, encrypt)
	if subtle.ConstantTimeCompare([]byte(want), []byte(msgSignature)) != 1 {
		return "", ErrSignature
	}
	return encrypt, nil
}

// Open verifies a push (the query's timestamp, nonce and msg_signature, and the body)
// and returns the decrypted XML message.
func (c *Crypto) Open(timestamp, nonce, msgSignature string, body []byte) ([]byte, error) {
	encrypt, err := c.verify(timestamp, nonce, msgSignature, body)
	if err != nil {
		return nil, err
	}
	ciphertext, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		return nil, fmt.Errorf("%w: Encrypt is not base64", ErrMalformed)
	}
	var firstErr error
	for _, key := range c.keys {
		msg, err := c.decrypt(key, ciphertext)
		if err == nil {
			return msg, nil
		}
		if firstErr == nil {
			firstErr = err // the current key's reason is the one that matters
		}
	}
	return nil, firstErr
}

// OpenEvent opens a push (Open) and reads its event (ParseEvent). The message's own AppId
// element must name the platform, as the appid that ends the plaintext does: ErrAppID
// otherwise, so that an event encrypted for this platform but naming another is never acted on.
func (c *Crypto) OpenEvent(timestamp, nonce, msgSignature string, body []byte) (Event, error) {
	msg, err := c.Open(timestamp, nonce, msgSignature, body)
	if err != nil {
		return Event{}, err
	}
	ev, err := ParseEvent(msg)
	if err != nil {
		return Event{}, err
	}
	if subtle.ConstantTimeCompare([]byte(ev.AppID), c.appID) != 1 {
		return Event{}, fmt.Errorf("%w: the message's AppId element is not the platform's appid", ErrAppID)
	}
	return ev, nil
}

// decrypt undoes seal with one key; ciphertext is left intact for the next key.
func (c *Crypto) decrypt(key, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: ciphertext of %d bytes is not whole AES blocks", ErrMalformed, len(ciphertext))
	}
	block, err := aes.NewCipher(key)
	if err != nil { // cannot happen: New checked the key size
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	plain := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(plain, ciphertext)

	pad := int(plain[len(plain)-1])
	if pad < 1 || pad > padBlock || pad > len(plain) {
		return nil, fmt.Errorf("%w: invalid padding", ErrMalformed)
	}
	plain = plain[:len(plain)-pad]
	if len(plain) < randomLen+lengthLen {
		return nil, fmt.Errorf("%w: plaintext too short", ErrMalformed)
	}
	n := uint64(binary.BigEndian.Uint32(plain[randomLen:]))
	rest := plain[randomLen+lengthLen:]
	if n > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: message length field exceeds the plaintext", ErrMalformed)
	}
	msg, appID := rest[:n], rest[n:]
	if subtle.ConstantTimeCompare(appID, c.appID) != 1 {
		return nil, ErrAppID
	}
	return msg, nil
}

// Seal encrypts message with the current key, as WeChat does (16 random bytes first), and
// returns the push body and its msg_signature for timestamp and nonce.
func (c *Crypto) Seal(message []byte, timestamp, nonce string) (body []byte, msgSignature string, err error) {
	random := make([]byte, randomLen)
	rand.Read(random) // never fails; see crypto/rand.Read
	encrypt := c.encrypt(random, message)
	body, err = xml.Marshal(envelope{AppID: cdata{string(c.appID)}, Encrypt: cdata{encrypt}})
	if err != nil {
		return nil, "", err
	}
	return body, Signature(c.token, timestamp, nonce, encrypt), nil
}

// encrypt returns base64(AES-CBC(random | len | message | appid | PKCS#7 pad to 32)).
func (c *Crypto) encrypt(random, message []byte) string {
	var plain bytes.Buffer
	plain.Write(random)
	plain.Write(binary.BigEndian.AppendUint32(nil, uint32(len(message))))
	plain.Write(message)
	plain.Write(c.appID)
	pad := padBlock - plain.Len()%padBlock // 1..32: a full block when already aligned
	plain.Write(bytes.Repeat([]byte{byte(pad)}, pad))

	key := c.keys[0]
	block, _ := aes.NewCipher(key) // New checked the key size
	out := plain.Bytes()
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(out, out)
	return base64.StdEncoding.EncodeToString(out)
}
