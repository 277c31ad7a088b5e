package behavior

import (
	"path"
	"strconv"
	"strings"
	"time"
)

// Main works out what a container's main process does from its argv (the
// image entrypoint or the container's command, followed by its args). A
// ckimage command is parsed with Parse (a malformed one exits 2 at once,
// as the real binary does). Anything else is read as a generic command:
// `true`, `false`, `echo …`, `sleep N`, `sh -c "echo …; sleep N; exit N"`
// end as a shell would; every other program runs until stopped, so
// arbitrary manifests run on simulated nodes.
func Main(argv []string) Behavior {
	if len(argv) > 0 && IsTestBinary(argv[0]) {
		b, err := Parse(argv)
		if err != nil || !b.RunsAsMain() {
			if err == nil {
				// An exec-only command as main process runs once and exits.
				return Behavior{Kind: Exit, Code: 0}
			}
			return Behavior{Kind: Exit, Code: UsageExitCode, Output: []string{err.Error()}}
		}
		return b
	}
	return generic(argv)
}

func generic(argv []string) Behavior {
	if len(argv) == 0 {
		return Behavior{Kind: Pause}
	}
	switch path.Base(argv[0]) {
	case "sh", "bash", "ash", "dash":
		if len(argv) >= 3 && argv[1] == "-c" {
			return script(argv[2])
		}
		return Behavior{Kind: Pause}
	}
	out, end, code, ok := statement(argv)
	if !ok {
		return Behavior{Kind: Pause}
	}
	if end < 0 {
		return Behavior{Kind: Pause, Output: out}
	}
	return Behavior{Kind: Exit, Code: code, After: end, Output: nonNil(out)}
}

// script reads a tiny subset of shell: statements separated by ";" or
// newlines, each a chain joined by "&&", each command one of
// echo/true/false/sleep/exit, an echo's output possibly redirected to a file
// ("echo -n DONE > /dev/termination-log": the file's text, see WritePath).
// Anything else runs until stopped.
func script(s string) Behavior {
	b := scriptSteps(s)
	if wp, wt, ok := redirect(s); ok {
		b.WritePath, b.WriteText = wp, wt
	}
	return b
}

// redirect finds the first "echo [-n] TEXT > PATH" of a script: what it writes where.
func redirect(s string) (file, text string, ok bool) {
	for _, st := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		for _, cmd := range strings.Split(st, "&&") {
			i := strings.Index(cmd, ">")
			if i < 0 {
				continue
			}
			words, target := strings.Fields(cmd[:i]), strings.Fields(cmd[i+1:])
			if len(words) == 0 || path.Base(words[0]) != "echo" || len(target) != 1 || !strings.HasPrefix(target[0], "/") {
				continue
			}
			args, nl := words[1:], "\n"
			if len(args) > 0 && args[0] == "-n" {
				args, nl = args[1:], ""
			}
			return target[0], unquote(strings.Join(args, " ")) + nl, true
		}
	}
	return "", "", false
}

func scriptSteps(s string) Behavior {
	var out []string
	var total time.Duration
	last := 0
	for _, st := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		for _, cmd := range strings.Split(st, "&&") {
			if i := strings.Index(cmd, ">"); i >= 0 {
				cmd = cmd[:i] // the output goes to the file (see redirect)
				if w := strings.Fields(cmd); len(w) > 0 && path.Base(w[0]) == "echo" {
					continue
				}
			}
			words := strings.Fields(cmd)
			if len(words) == 0 {
				continue
			}
			if words[0] == "exit" {
				code := last
				if len(words) > 1 {
					c, err := strconv.Atoi(words[1])
					if err != nil {
						return Behavior{Kind: Pause, Output: out}
					}
					code = c & 0xff
				}
				return Behavior{Kind: Exit, Code: code, After: total, Output: nonNil(out)}
			}
			o, d, code, ok := statement(words)
			if !ok {
				return Behavior{Kind: Pause, Output: out}
			}
			out = append(out, o...)
			if d < 0 {
				return Behavior{Kind: Pause, Output: out}
			}
			total += d
			last = code
			if code != 0 {
				break // the rest of an && chain does not run
			}
		}
	}
	return Behavior{Kind: Exit, Code: last, After: total, Output: nonNil(out)}
}

// statement interprets one simple command. end < 0 means "runs forever".
func statement(words []string) (out []string, end time.Duration, code int, ok bool) {
	switch path.Base(words[0]) {
	case "true", ":":
		return nil, 0, 0, true
	case "false":
		return nil, 0, 1, true
	case "echo":
		if len(words) > 1 && words[1] == "-n" {
			words = words[1:]
		}
		return []string{unquote(strings.Join(words[1:], " "))}, 0, 0, true
	case "sleep":
		if len(words) != 2 {
			return nil, 0, 1, true
		}
		if words[1] == "infinity" || words[1] == "inf" {
			return nil, -1, 0, true
		}
		d, err := ParseDuration(words[1])
		if err != nil {
			return nil, 0, 1, true
		}
		return nil, d, 0, true
	}
	return nil, 0, 0, false
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
