package share

// ValidAppID reports whether s is an appid: "wx" followed by 16 lowercase hex digits
// (^wx[0-9a-f]{16}$, checked by hand: manifests hold 100,000s of them).
func ValidAppID(s string) bool {
	if len(s) != 18 || s[0] != 'w' || s[1] != 'x' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidEnv reports whether s is an env id this package accepts: 1 to 64 lowercase letters,
// digits and hyphens (^[a-z0-9-]{1,64}$).
func ValidEnv(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkEnv reports what is wrong with an env id at path.
func checkEnv(p *problems, path fieldPath, env string) {
	switch {
	case env == "":
		p.add(path, "required")
	case !ValidEnv(env):
		p.add(path, "%s is not an env id (1-64 lowercase letters, digits and hyphens)", quote(env))
	}
}

// checkAppIDs reports what is wrong with a list of appids at path.
func checkAppIDs(p *problems, st fieldState, path fieldPath, ids []string) {
	checkList(p, st, path, ids, func(ip fieldPath, id string) {
		if !ValidAppID(id) {
			p.add(ip, "%s is not an appid (wx followed by 16 lowercase hex digits)", quote(id))
		}
	})
}

// checkList reports what is wrong with a required list at path: absent, empty, or each
// element by check (elements whose JSON type was wrong were reported by the decoder).
func checkList[E any](p *problems, st fieldState, path fieldPath, list []E, check func(fieldPath, E)) {
	if list == nil {
		p.add(path, "required")
		return
	}
	if len(list) == 0 {
		p.add(path, "must not be empty")
		return
	}
	for i, v := range list {
		if ip := path.index(i); !st.bad[ip] {
			check(ip, v)
		}
	}
}
