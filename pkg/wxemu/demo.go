package wxemu

// Demo subjects: the platform's customer and another company.
const (
	DemoSubject      = "Acme Cloud Co., Ltd."
	DemoOtherSubject = "Globex Trading Ltd."
)

// DemoState is a small, realistic fleet for local runs: every share outcome is one appid away.
//
//	prod-6gni9ity244a6ea3, test-env-6gni9ity244a6ea3, staging-8f2k4m6n1p3q5r7t  Acme envs
//	globex-prod-3h5j7k9m2n4p6q8r                                                Globex env
//	wx5fe6bb43205e9e07  Acme, auto-confirm, already bound to test-env-6gni9ity244a6ea3
//	wx075cf85bf347b6df  Acme, auto-confirm
//	wx1a2b3c4d5e6f7081  Acme, needs its administrator's confirmation
//	wx9c8d7e6f5a4b3c2d  Acme, needs confirmation, one already pending on staging (c900001)
//	wx0f1e2d3c4b5a6978  Acme, has not authorised permission set 18
//	wxabcdef0123456789  Acme, no cloud development
//	wx7e57d0c0ffee1234  Globex, auto-confirm: another subject than the Acme envs
func DemoState() State {
	return State{
		Envs: map[string]Env{
			"prod-6gni9ity244a6ea3":        {Subject: DemoSubject},
			"test-env-6gni9ity244a6ea3":    {Subject: DemoSubject},
			"staging-8f2k4m6n1p3q5r7t":     {Subject: DemoSubject},
			"globex-prod-3h5j7k9m2n4p6q8r": {Subject: DemoOtherSubject},
		},
		Apps: map[string]App{
			"wx5fe6bb43205e9e07": {Subject: DemoSubject, AutoConfirm: true},
			"wx075cf85bf347b6df": {Subject: DemoSubject, AutoConfirm: true},
			"wx1a2b3c4d5e6f7081": {Subject: DemoSubject},
			"wx9c8d7e6f5a4b3c2d": {Subject: DemoSubject},
			"wx0f1e2d3c4b5a6978": {Subject: DemoSubject, MissingPermission18: true},
			"wxabcdef0123456789": {Subject: DemoSubject, NoCloud: true},
			"wx7e57d0c0ffee1234": {Subject: DemoOtherSubject, AutoConfirm: true},
		},
		Bindings: map[string][]string{
			"wx5fe6bb43205e9e07": {"test-env-6gni9ity244a6ea3"},
		},
		Pending: []Pending{
			{ID: "c900001", Env: "staging-8f2k4m6n1p3q5r7t", AppID: "wx9c8d7e6f5a4b3c2d"},
		},
	}
}
