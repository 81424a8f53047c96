package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/envshare/envshare/internal/config"
	"github.com/envshare/envshare/internal/ledger"
	"github.com/envshare/envshare/pkg/redact"
)

// Where a setting came from.
const (
	fromExported = "exported"      // the caller's environment: it always wins
	fromLocal    = "local default" // the local tools' own configuration
	fromSample   = "sample"        // a sample event's configuration (make invoke)
)

// setting is one variable of the effective configuration.
type setting struct {
	name, value, source string
}

// settings is the configuration the local tools run the function with.
type settings struct {
	list    []setting     // every variable set, in config.Variables() order
	cfg     config.Config // what the function reads from them
	unknown []string      // exported ENVSHARE_* names the function does not read
}

// resolve merges the tools' defaults (labelled source) with the caller's environment,
// exported settings winning, sets the result in the process environment (as the platforms do
// before the first invocation), and checks it exactly as a deployed function does at cold
// start, so that an invalid setting fails with the same message.
func resolve(defaults map[string]string, source string) (settings, error) {
	var s settings
	s.unknown = config.Unknown(os.Environ())
	for _, name := range config.Variables() {
		value, exported := os.LookupEnv(name)
		def, hasDefault := defaults[name]
		switch {
		case exported:
			s.list = append(s.list, setting{name, value, fromExported})
		case hasDefault:
			if err := os.Setenv(name, def); err != nil {
				return s, err
			}
			s.list = append(s.list, setting{name, def, source})
		}
	}
	cfg, err := config.Load()
	if err != nil {
		return s, err
	}
	s.cfg = cfg
	return s, nil
}

// env is the effective configuration as variables.
func (s settings) env() map[string]string {
	env := make(map[string]string, len(s.list))
	for _, v := range s.list {
		env[v.name] = v.value
	}
	return env
}

// source says where a variable's value came from; "" when it is unset.
func (s settings) source(name string) string {
	for _, v := range s.list {
		if v.name == name {
			return v.source
		}
	}
	return ""
}

// print writes the effective configuration with every secret masked, and a note for each
// exported ENVSHARE_* name that is no setting (the function would ignore a typo silently). It
// works on a configuration that failed its check, too.
func (s settings) print(out io.Writer) {
	fmt.Fprintln(out, "Configuration (exported ENVSHARE_* settings win over the defaults; secrets masked):")
	secretNames := config.SecretVariables()
	var secrets []string
	for _, v := range s.list {
		if slices.Contains(secretNames, v.name) {
			secrets = append(secrets, v.value)
		}
		if v.name == ledger.Variable { // mysql:DSN holds a password
			secrets = append(secrets, ledger.Secrets(v.value)...)
		}
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, v := range s.list {
		value := shown(v.value, secrets)
		if slices.Contains(secretNames, v.name) && v.value != "" {
			value = redact.Mask // whatever its length: the redactor skips short values
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.name, value, v.source)
	}
	tw.Flush()
	for _, name := range s.unknown {
		fmt.Fprintf(out, "  note: %s is exported but is not a setting of envshare (a typo?): ignored\n", name)
	}
	if _, err := s.cfg.ConfiguredManifest(); err != nil {
		fmt.Fprintln(out, "  PROBLEM:", config.Explain(err, "    "))
		fmt.Fprintln(out, "  (reconciles of it, the fleet view and onboarding by customer answer invalid_request until it is fixed;")
		fmt.Fprintln(out, "   pushes, shares, unshares, bindings, refresh and pages work)")
	}
}

// shown is a value as the configuration listing prints it: secrets inside it masked, a long
// value (an inline manifest) shortened.
func shown(value string, secrets []string) string {
	if value == "" {
		return `""`
	}
	value = strings.Join(strings.Fields(redact.Text(value, secrets...)), " ") // one line
	if r := []rune(value); len(r) > 64 {
		return string(r[:61]) + "..."
	}
	return value
}
