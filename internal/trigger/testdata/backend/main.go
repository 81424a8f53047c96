// Command backend plays a platform's existing backend beside envshare, in a process of its own,
// for "Running next to an existing backend" (docs/tokens-and-events.md) (internal/trigger's
// TestRunningNextToAnExistingBackend). It checks WeChat's signature and decrypts the pushes
// envshare forwards with its own few lines of code (none of envshare's wxcrypt), and either
// reads the token envshare owns (pkg/statetoken) or mints the token itself and writes it into
// the state record (ENVSHARE_TOKEN_OWNER=external).
//
// It prints one JSON line per thing it does: {"listening": addr} first, then {"push": {...}}
// for each push, {"used": ...} or {"minted": ...}.
//
//	POST /wechat/push  a forwarded push: 401 for a bad signature, else "success"
//	POST /use-token    read envshare's token from the state record, call WeChat with it
//	POST /mint         mint with the last ticket pushed, write the token into the state record
package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/envshare/envshare/pkg/statetoken"
)

var (
	msgToken  = flag.String("token", "", "the message verification token")
	aesKey    = flag.String("aeskey", "", "the EncodingAESKey")
	appID     = flag.String("appid", "", "the platform's appid")
	appSecret = flag.String("appsecret", "", "the platform's app secret (to mint)")
	wechat    = flag.String("wechat", "", "WeChat's API base URL")
	state     = flag.String("state", "", "the state record's file")
)

var (
	out    = json.NewEncoder(os.Stdout)
	outMu  sync.Mutex
	mu     sync.Mutex
	ticket string // the last component_verify_ticket pushed
)

func say(v any) {
	outMu.Lock()
	defer outMu.Unlock()
	out.Encode(v)
}

func main() {
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	http.HandleFunc("POST /wechat/push", push)
	http.HandleFunc("POST /use-token", useToken)
	http.HandleFunc("POST /mint", mint)
	say(map[string]string{"listening": ln.Addr().String()})
	panic(http.Serve(ln, nil))
}

// push checks and decrypts a forwarded push as WeChat's documentation says.
func push(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var env struct {
		Encrypt string `xml:"Encrypt"`
	}
	xml.Unmarshal(body, &env)
	q := r.URL.Query()
	parts := []string{*msgToken, q.Get("timestamp"), q.Get("nonce"), env.Encrypt}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	if hex.EncodeToString(sum[:]) != q.Get("msg_signature") {
		say(map[string]any{"push": map[string]any{"signature": "bad"}})
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	msg, err := decrypt(env.Encrypt)
	if err != nil {
		say(map[string]any{"push": map[string]any{"signature": "ok", "error": err.Error()}})
		io.WriteString(w, "success") // signed: WeChat's, even if this backend cannot read it
		return
	}
	var ev struct {
		InfoType        string `xml:"InfoType"`
		Ticket          string `xml:"ComponentVerifyTicket"`
		AuthorizerAppid string `xml:"AuthorizerAppid"`
	}
	xml.Unmarshal(msg, &ev)
	if ev.Ticket != "" {
		mu.Lock()
		ticket = ev.Ticket
		mu.Unlock()
	}
	say(map[string]any{"push": map[string]any{"signature": "ok", "info_type": ev.InfoType, "authorizer_appid": ev.AuthorizerAppid,
		"content_type": r.Header.Get("Content-Type")}})
	io.WriteString(w, "success")
}

// decrypt: AES-256-CBC, key base64(EncodingAESKey+"="), IV its first 16 bytes; the plaintext is
// 16 random bytes, a 4-byte length, the message, the platform's appid, then padding.
func decrypt(encrypt string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(*aesKey + "=")
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil || len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("not a ciphertext")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	cipher.NewCBCDecrypter(block, key[:16]).CryptBlocks(data, data)
	pad := int(data[len(data)-1])
	if pad < 1 || pad > 32 || pad > len(data)-20 {
		return nil, fmt.Errorf("bad padding")
	}
	data = data[:len(data)-pad]
	n := int(binary.BigEndian.Uint32(data[16:20]))
	if n > len(data)-20 || string(data[20+n:]) != *appID {
		return nil, fmt.Errorf("not this platform's message")
	}
	return data[20 : 20+n], nil
}

// useToken reads the token envshare owns and calls WeChat with it.
func useToken(w http.ResponseWriter, r *http.Request) {
	tok, err := statetoken.Read(r.Context(), statetoken.File{}, *state)
	if err != nil {
		say(map[string]any{"used": map[string]any{"error": err.Error()}})
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	var answer struct {
		Errcode int `json:"errcode"`
	}
	if !postWeChat(w, "/componenttcb/batchgetenvid?access_token="+tok.Value,
		strings.NewReader(`{"appids":["wx5fe6bb43205e9e07"],"source_type":1}`), &answer) {
		return
	}
	say(map[string]any{"used": map[string]any{"errcode": answer.Errcode, "token": fmt.Sprint(tok)}})
	fmt.Fprintf(w, `{"errcode":%d}`, answer.Errcode)
}

// postWeChat posts body to WeChat's path and decodes the answer into answer; when WeChat cannot
// be reached, it answers w 502 and returns false.
func postWeChat(w http.ResponseWriter, path string, body io.Reader, answer any) bool {
	resp, err := http.Post(*wechat+path, "application/json", body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return false
	}
	defer resp.Body.Close()
	json.NewDecoder(resp.Body).Decode(answer)
	return true
}

// mint mints with the last ticket pushed and writes the token into the state record, keeping
// the record's other fields (envshare stores the tickets there).
func mint(w http.ResponseWriter, r *http.Request) {
	mu.Lock()
	t := ticket
	mu.Unlock()
	req, _ := json.Marshal(map[string]string{"component_appid": *appID, "component_appsecret": *appSecret, "component_verify_ticket": t})
	var answer struct {
		Token     string `json:"component_access_token"`
		ExpiresIn int    `json:"expires_in"`
		Errcode   int    `json:"errcode"`
	}
	if !postWeChat(w, "/cgi-bin/component/api_component_token", bytes.NewReader(req), &answer) {
		return
	}
	if answer.Token == "" {
		say(map[string]any{"minted": map[string]any{"errcode": answer.Errcode}})
		http.Error(w, "no token", http.StatusBadGateway)
		return
	}
	record := map[string]any{}
	if b, err := os.ReadFile(*state); err == nil {
		json.Unmarshal(b, &record)
	}
	record["component_access_token"] = answer.Token
	record["expires_at"] = time.Now().Add(time.Duration(answer.ExpiresIn) * time.Second).UTC().Format(time.RFC3339)
	b, _ := json.Marshal(record)
	if err := os.WriteFile(*state, b, 0o600); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	say(map[string]any{"minted": map[string]any{"ok": true}})
	io.WriteString(w, `{"ok":true}`)
}
