package ledgertest

import (
	"fmt"
	"testing"
	"time"

	"github.com/envshare/envshare/internal/ledger"
)

// BenchmarkPush measures what the ledger adds to an authorizer push: the authorizer's record
// written (a read, then a conditional write) and one of its pairs written likewise, for a new
// appid each time, from one instance.
func BenchmarkPush(b *testing.B, e Engine) {
	value := e.New(b)
	d, err := e.Open(b.Context(), value, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	l := ledger.New(d, ledger.Options{})
	now := time.Now()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		appid := fmt.Sprintf("wx%016x", n)
		n++
		if _, err := l.UpdateAuthorizer(b.Context(), appid, func(a *ledger.Authorizer) (bool, error) {
			a.Principal, a.Authorized, a.PermissionSets, a.MiniProgram = "深圳市示例科技有限公司", true, []int{1, 18, 19}, true
			a.AuthorizedAt, a.InfoFetchedAt, a.LastEvent, a.LastEventTime = now, now, "authorized", now
			return true, nil
		}); err != nil {
			b.Fatal(err)
		}
		if _, err := l.UpdatePair(b.Context(), ledger.PairKey{Env: "cust-a-7f3k2m", AppID: appid}, func(p *ledger.Pair) (bool, error) {
			p.State, p.Principal, p.LinkIssuedAt = ledger.StatePending, "深圳市示例科技有限公司", now
			p.ConfirmURL = "https://mp.weixin.qq.com/wxopen/confirm?token=0123456789abcdef0123456789abcdef"
			return true, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
