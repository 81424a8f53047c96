package share

import "github.com/envshare/envshare/pkg/wechat"

// topFields lists every body field in the order problems are reported.
var topFields = []string{"action", "data", "env", "appids", "source_type", "envs", "prune", "dry_run", "shard"}

// allowed says which fields each action takes ("action" is allowed everywhere).
var allowed = map[string]map[string]bool{
	ActionShare:     {"action": true, "data": true, "env": true, "appids": true, "source_type": true},
	ActionUnshare:   {"action": true, "data": true, "env": true, "appids": true, "source_type": true},
	ActionBindings:  {"action": true, "appids": true, "source_type": true},
	ActionReconcile: {"action": true, "source_type": true, "envs": true, "prune": true, "dry_run": true, "shard": true},
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
		if r.Shard != nil && !st.bad["shard"] {
			checkShard(&p, st, r.Shard)
		}
	}
	return p
}

func checkEnvList(p *problems, st fieldState, path fieldPath, list []wechat.EnvAppIDs) {
	if list == nil {
		p.add(path, "required")
		return
	}
	if len(list) == 0 {
		p.add(path, "must not be empty")
		return
	}
	for i, e := range list {
		ip := path.index(i)
		if st.bad[ip] {
			continue
		}
		if env := ip.field("env"); !st.bad[env] {
			checkEnv(p, env, e.Env)
		}
		if ids := ip.field("appids"); !st.bad[ids] {
			checkAppIDs(p, st, ids, e.AppIDs)
		}
	}
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
