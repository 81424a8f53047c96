package wxemu

// Demo subjects (principal_name): three customers of the platform, and an entity that is no
// customer's.
const (
	DemoSubject        = "Acme Cloud Co., Ltd."
	DemoOtherSubject   = "Globex Trading Ltd."
	DemoThirdSubject   = "深圳市示例科技有限公司"
	DemoUnknownSubject = "Hooli Holdings Ltd."
)

// demoAuthTime is when the demo fleet authorised the platform (2023-11-01T00:00:00Z), plus a
// day per app in list order.
const demoAuthTime = 1698796800

// DemoState is a small, realistic fleet for local runs: three customers (subjects), each with
// its own envs and Mini Programs, so that every share outcome and every onboarding outcome is
// one appid away.
//
//	prod-6gni9ity244a6ea3, test-env-6gni9ity244a6ea3, staging-8f2k4m6n1p3q5r7t  Acme envs
//	globex-prod-3h5j7k9m2n4p6q8r                                                Globex env
//	cust-a-7f3k2m                                                               深圳市示例科技 env
//	wx5fe6bb43205e9e07  Acme, auto-confirm, already bound to test-env-6gni9ity244a6ea3
//	wx075cf85bf347b6df  Acme, auto-confirm
//	wx1a2b3c4d5e6f7081  Acme, needs its administrator's confirmation
//	wx9c8d7e6f5a4b3c2d  Acme, needs confirmation, one already pending on staging (c900001)
//	wx0f1e2d3c4b5a6978  Acme, has not authorised permission set 18
//	wxabcdef0123456789  Acme, no cloud development
//	wx4f6a8c0e2b4d6f83  Acme, an Official Account (not a Mini Program), sets 1-4
//	wx7e57d0c0ffee1234  Globex, auto-confirm: another subject than the Acme envs
//	wx6a0b1c2d3e4f5061  Globex, needs confirmation
//	wx2b4d6f8a0c2e4f61  深圳市示例科技, auto-confirm
//	wx8c1e3a5b7d9f0e21  深圳市示例科技, needs confirmation
//	wx9e1d3c5b7a9f1e32  Hooli, auto-confirm: an entity with no env, no customer's
//
// Every app authorised the platform a day after the previous one (AuthTime), in this order.
func DemoState() State {
	apps := []struct {
		appid string
		app   App
	}{
		{"wx5fe6bb43205e9e07", App{Subject: DemoSubject, AutoConfirm: true}},
		{"wx075cf85bf347b6df", App{Subject: DemoSubject, AutoConfirm: true}},
		{"wx1a2b3c4d5e6f7081", App{Subject: DemoSubject}},
		{"wx9c8d7e6f5a4b3c2d", App{Subject: DemoSubject}},
		{"wx0f1e2d3c4b5a6978", App{Subject: DemoSubject, MissingPermission18: true}},
		{"wxabcdef0123456789", App{Subject: DemoSubject, NoCloud: true}},
		{"wx4f6a8c0e2b4d6f83", App{Subject: DemoSubject, OfficialAccount: true, Permissions: []int{1, 2, 3, 4}}},
		{"wx7e57d0c0ffee1234", App{Subject: DemoOtherSubject, AutoConfirm: true}},
		{"wx6a0b1c2d3e4f5061", App{Subject: DemoOtherSubject}},
		{"wx2b4d6f8a0c2e4f61", App{Subject: DemoThirdSubject, AutoConfirm: true}},
		{"wx8c1e3a5b7d9f0e21", App{Subject: DemoThirdSubject}},
		{"wx9e1d3c5b7a9f1e32", App{Subject: DemoUnknownSubject, AutoConfirm: true}},
	}
	s := State{
		Envs: map[string]Env{
			"prod-6gni9ity244a6ea3":        {Subject: DemoSubject},
			"test-env-6gni9ity244a6ea3":    {Subject: DemoSubject},
			"staging-8f2k4m6n1p3q5r7t":     {Subject: DemoSubject},
			"globex-prod-3h5j7k9m2n4p6q8r": {Subject: DemoOtherSubject},
			"cust-a-7f3k2m":                {Subject: DemoThirdSubject},
		},
		Apps: make(map[string]App, len(apps)),
		Bindings: map[string][]string{
			"wx5fe6bb43205e9e07": {"test-env-6gni9ity244a6ea3"},
		},
		Pending: []Pending{
			{ID: "c900001", Env: "staging-8f2k4m6n1p3q5r7t", AppID: "wx9c8d7e6f5a4b3c2d"},
		},
	}
	for i, a := range apps {
		a.app.AuthTime = demoAuthTime + int64(i)*24*60*60
		s.Apps[a.appid] = a.app
	}
	return s
}
