package wxemu

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"

	"strings"
)

// Sealer encrypts and signs messages the way WeChat does for the pushes to a third-party
// platform (the Pushes section of the package documentation). The emulator seals its pushes
// with one; a test may seal a push of its own, such as a replay or a forgery to refuse.
//
// It is written apart from envshare's reader of pushes (internal/wxcrypt) on purpose: a test
// double that shared the code under test could not catch that code's mistakes. Both are
// checked against WeChat's published vectors.
type Sealer struct {
	token  string
	appID  string
	block  cipher.Block
	iv     []byte
	random io.Reader // the 16 random bytes that open every plaintext
}

// EncodingAESKeyLen is the length of an EncodingAESKey: 43 base64 characters, 32 bytes.
const EncodingAESKeyLen = 43

// NewSealer returns a Sealer for the platform whose message verification token,
// EncodingAESKey and appid are given. Its errors name the field at fault, never its value.
func NewSealer(messageToken, encodingAESKey, componentAppID string) (*Sealer, error) {
	if messageToken == "" || componentAppID == "" {
		return nil, errors.New("wxemu: the message token and the component appid are needed")
	}
	if len(encodingAESKey) != EncodingAESKeyLen {
		return nil, fmt.Errorf("wxemu: the EncodingAESKey must be %d characters", EncodingAESKeyLen)
	}
	// 43 characters are 258 bits: the last 2 are not part of the key, so the decoding is lax.
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		return nil, errors.New("wxemu: the EncodingAESKey is not base64")
	}
	block, err := aes.NewCipher(key) // 32 bytes: AES-256
	if err != nil {
		return nil, fmt.Errorf("wxemu: the EncodingAESKey: %w", err)
	}
	return &Sealer{token: messageToken, appID: componentAppID, block: block, iv: key[:aes.BlockSize], random: rand.Reader}, nil
}

// Seal returns the body of a push carrying message, <xml><AppId/><Encrypt/></xml>, and its
// msg_signature for the query's timestamp and nonce.
func (s *Sealer) Seal(message []byte, timestamp, nonce string) (body []byte, msgSignature string) {
	encrypt := s.encrypt(message)
	envelope := struct {
		XMLName xml.Name `xml:"xml"`
		AppID   cdata    `xml:"AppId"`
		Encrypt cdata    `xml:"Encrypt"`
	}{AppID: cdata{s.appID}, Encrypt: cdata{encrypt}}
	body, _ = xml.Marshal(envelope) // plain strings always encode
	return body, MsgSignature(s.token, timestamp, nonce, encrypt)
}

// encrypt is base64(AES-256-CBC(16 random bytes | big-endian length | message | appid | pad)),
// padded as PKCS#7 to 32-byte blocks (1 to 32 bytes of the pad's length), with the key's first
// 16 bytes as IV.
func (s *Sealer) encrypt(message []byte) string {
	const padTo = 32
	n := 16 + 4 + len(message) + len(s.appID)
	pad := padTo - n%padTo
	plain := make([]byte, 16, n+pad)
	if _, err := io.ReadFull(s.random, plain); err != nil {
		panic("wxemu: no random bytes: " + err.Error()) // crypto/rand never fails
	}
	plain = binary.BigEndian.AppendUint32(plain, uint32(len(message)))
	plain = append(plain, message...)
	plain = append(plain, s.appID...)
	for range pad {
		plain = append(plain, byte(pad))
	}
	cipher.NewCBCEncrypter(s.block, s.iv).CryptBlocks(plain, plain)
	return base64.StdEncoding.EncodeToString(plain)
}

// MsgSignature is WeChat's msg_signature of a push: the hex SHA-1 of the message verification
// token, the timestamp, the nonce and the Encrypt text, sorted and joined. With an empty
// encrypt it is the push URL's plain signature parameter.
func MsgSignature(messageToken, timestamp, nonce, encrypt string) string {
	parts := []string{messageToken, timestamp, nonce, encrypt}
	slices.Sort(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}
