// Package wxcrypt verifies, decrypts and encrypts the messages WeChat pushes to a
// third-party platform's "authorization event receiving URL" (授权事件接收URL): the
// component_verify_ticket every 10 minutes, and authorized / updateauthorized /
// unauthorized when a Mini Program authorises the platform, changes its permission sets or
// revokes it. It uses the standard library only.
//
// A push carries the query parameters timestamp, nonce and msg_signature, and the body
// <xml><AppId>…</AppId><Encrypt>…</Encrypt></xml>. Open checks
//
//	msg_signature == hex(sha1(concat(sort([token, timestamp, nonce, Encrypt]))))
//
// in constant time, then decrypts Encrypt: AES-256-CBC with key base64(EncodingAESKey+"=")
// and IV key[:16], PKCS#7 padding to 32-byte blocks (the last byte gives the pad length,
// 1..32), plaintext = 16 random bytes | 4-byte big-endian length | XML message | appid, the
// trailing appid being the platform's component_appid. When a previous EncodingAESKey is
// configured (key rotation), it is tried when the current one fails.
//
// Errors tell callers how to answer: errors.Is(err, ErrSignature) is a forged or stale
// signature (HTTP 401); ErrMalformed and ErrAppID are bodies that cannot be read, do not
// decrypt, or were encrypted for another platform (HTTP 400). No error text contains the
// token, a key or decrypted content, and no input makes Open panic.
//
// Verify is the signature check alone (a push WeChat signed, whatever it holds, may be
// forwarded). OpenEvent opens a push and reads its event, and wants the message's own AppId
// element to be the platform's too (ErrAppID). MaxAhead is how far ahead of the clock a push's
// CreateTime may be.
//
// Seal is the reverse, for the WeChat emulator and tests. ParseEvent reads the fields of
// the four authorization events from a decrypted message.
package wxcrypt
