package share

import (
	"strings"

	"github.com/envshare/envshare/pkg/wechat"
)

// topFields lists every body field in the order problems are reported.
var topFields = []string{"action", "data", "env", "appids", "source_type", "envs", "customers", "prune", "dry_run", "shard", "run", "backfill"}

// allowed says which fields each action takes ("action" is allowed everywhere).
var allowed = map[string]map[string]bool{
	ActionShare:    {"action": true, "data": true, "env": true, "appids": true, "source_type": true},
	ActionUnshare:  {"action": true, "data": true, "env": true, "appids": true, "source_type": true},
	ActionBindings: {"action": true, "appids": true, "source_type": true},
	ActionReconcile: {"action": true, "source_type": true, "envs": true, "customers": true, "prune": true, "dry_run": true,
		"shard": true, "run": true, "backfill": true},
}

// validate applies the rules to a decoded request: action, fields allowed for it, required
// and empty fields, appid and env formats, combinations and limits.
func validate(r *Request, st fieldState) problems {
	var p problems
	rules, ok := allowed[r.Action]
	if !ok {
		if !st.bad["action"] {
			if r.Action == "" {
				p.add("action", "required (one of share, unshare, bindings, reconcile)")
			} else {
				p.add("action", "%s is not one of share, unshare, bindings, reconcile", quote(r.Action))
			}
		}
		return p
	}
	for _, f := range topFields {
		if st.present[f] && !rules[f] {
			p.add(fieldPath(f), "not allowed for action %s", r.Action)
		}
	}
	if r.SourceType != nil && *r.SourceType < 0 {
		p.add("source_type", "must be a non-negative integer")
	}

	switch r.Action {
	case ActionShare, ActionUnshare:
		switch {
		case st.present["data"]:
			for _, f := range []string{"env", "appids"} {
				if st.present[f] {
					p.add(fieldPath(f), "not allowed together with data")
				}
			}
			if !st.bad["data"] {
				checkEnvList(&p, st, "data", r.Data)
			}
		case !st.present["env"] && !st.present["appids"]:
			p.add("data", "required (or env and appids)")
		default:
			if !st.bad["env"] {
				checkEnv(&p, "env", r.Env)
			}
			if !st.bad["appids"] {
				checkAppIDs(&p, st, "appids", r.AppIDs)
			}
		}
		if n := pairCount(r.pairsInput(), MaxPairs); n > MaxPairs {
			p.add(fieldPath(r.pairsField()), "%d distinct (env, appid) pairs exceed the maximum of %d per request", n, MaxPairs)
		}
	case ActionBindings:
		if !st.bad["appids"] {
			checkAppIDs(&p, st, "appids", r.AppIDs)
		}
		if n := pairCount([]wechat.EnvAppIDs{{AppIDs: r.AppIDs}}, MaxAppIDs); n > MaxAppIDs {
			p.add("appids", "%d distinct appids exceed the maximum of %d per request", n, MaxAppIDs)
		}
	case ActionReconcile:
		if st.present["envs"] && !st.bad["envs"] {
			checkEnvList(&p, st, "envs", r.Envs)
			if n := pairCount(r.Envs, MaxManifestPairs); n > MaxManifestPairs {
				p.add("envs", "%d distinct (env, appid) pairs exceed the maximum of %d per manifest", n, MaxManifestPairs)
			}
		}
		if st.present["customers"] && !st.bad["customers"] {
			checkCustomers(&p, st, r.Customers)
		}
		if r.Shard != nil && !st.bad["shard"] {
			checkShard(&p, st, r.Shard)
		}
		if st.present["run"] && !st.bad["run"] {
			checkRunField(&p, st, r)
		}
	}
	return p
}

func checkEnvList(p *problems, st fieldState, path fieldPath, list []wechat.EnvAppIDs) {
	checkList(p, st, path, list, func(ip fieldPath, e wechat.EnvAppIDs) {
		if env := ip.field("env"); !st.bad[env] {
			checkEnv(p, env, e.Env)
		}
		if ids := ip.field("appids"); !st.bad[ids] {
			checkAppIDs(p, st, ids, e.AppIDs)
		}
	})
}

func checkShard(p *problems, st fieldState, s *Shard) {
	if st.bad["shard.count"] {
		return
	}
	if s.Count < 1 || s.Count > MaxShards {
		p.add("shard.count", "must be in [1, %d]", MaxShards)
		return
	}
	if !st.bad["shard.index"] && (s.Index < 0 || s.Index >= s.Count) {
		p.add("shard.index", "must be in [0, shard.count)")
	}
}

// pairCount counts the distinct pairs of lists, cheaply when there are at most limit pairs
// in all, duplicates included (the common case needs no map).
func pairCount(lists []wechat.EnvAppIDs, limit int) int {
	n := 0
	for _, l := range lists {
		n += len(l.AppIDs)
	}
	if n <= limit {
		return n
	}
	return len(distinctPairs(lists))
}

// checkCustomers checks the customers of a manifest: each with a principal and at least one
// env, no principal twice and no env under two customers (each conflict names both places).
func checkCustomers(p *problems, st fieldState, list []Customer) {
	if len(list) == 0 {
		p.add("customers", "must not be empty")
		return
	}
	// Where each principal and env was first listed, as indices (customer, env): paths are
	// made only for a problem, since a manifest may list 250,000 envs.
	principals := make(map[string]int, len(list))
	type at struct{ customer, env int32 }
	owners := make(map[string]at)
	envs := 0
	for i, c := range list {
		ip := fieldPath("customers").index(i)
		if st.bad[ip] {
			continue
		}
		if pp := ip.field("principal"); !st.bad[pp] {
			switch {
			case c.Principal == "":
				p.add(pp, "required (the customer's principal_name, as WeChat reports it)")
			case len(c.Principal) > MaxPrincipalLen:
				p.add(pp, "longer than %d bytes", MaxPrincipalLen)
			default:
				if first, seen := principals[c.Principal]; seen {
					p.add(pp, "%s is also %s: a principal is one customer", quote(c.Principal),
						fieldPath("customers").index(first).field("principal"))
				} else {
					principals[c.Principal] = i
				}
			}
		}
		if c.SourceType != nil && *c.SourceType < 0 {
			p.add(ip.field("source_type"), "must be a non-negative integer")
		}
		ep := ip.field("envs")
		if st.bad[ep] {
			continue
		}
		checkEnvIDs(p, st, ep, c.Envs)
		for k, env := range c.Envs {
			envs++
			if !ValidEnv(env) {
				continue
			}
			switch first, seen := owners[env]; {
			case !seen:
				owners[env] = at{int32(i), int32(k)}
			case int(first.customer) != i:
				p.add(ep.index(k), "%s is also %s: an env belongs to one customer (one legal entity)", quote(env),
					fieldPath("customers").index(int(first.customer)).field("envs").index(int(first.env)))
			}
		}
	}
	if len(list) > MaxCustomers || envs > MaxCustomerEnvs {
		p.add("customers", "%d customers with %d envs exceed the maximum of %d customers and %d envs per manifest",
			len(list), envs, MaxCustomers, MaxCustomerEnvs)
	}
}

// checkEnvIDs reports what is wrong with a list of env ids at path.
func checkEnvIDs(p *problems, st fieldState, path fieldPath, envs []string) {
	checkList(p, st, path, envs, func(ip fieldPath, env string) { checkEnv(p, ip, env) })
}

// maxRunID bounds a run id (a shard message's run).
const maxRunID = 64

// checkRunField checks a shard message's run: an id of letters, digits and hyphens, with a
// shard, of the configured manifest (no envs, customers or backfill of its own).
func checkRunField(p *problems, st fieldState, r *Request) {
	valid := r.Run != "" && len(r.Run) <= maxRunID && !strings.ContainsFunc(r.Run, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')
	})
	if !valid {
		p.add("run", "must be a run id (1 to %d letters, digits and hyphens), as a planned reconcile's shard messages carry it", maxRunID)
	}
	if !st.present["shard"] {
		p.add("run", "needs shard: a run's message reconciles one shard of it")
	}
	for _, f := range []string{"envs", "customers", "backfill"} {
		if st.present[f] {
			p.add(fieldPath(f), "not allowed with run: a run's shards reconcile the configured manifest")
		}
	}
}
