//go:build linux

package dynlib

import (
	"fmt"
	"strings"

	"github.com/ebitengine/purego"
)

// Open dlopens the first of names that loads and has every symbol bind
// returns for it (bind is called once per library that loads, with its
// name, and gives the symbols to resolve: fresh func variables each time),
// and returns that name. The error says, for each name, dlopen's message
// or the first missing symbol ("libX has no symbol f"). A library that
// loaded stays open: the process may hold other handles to it.
func Open(names []string, bind func(name string) []Symbol) (string, error) {
	var msgs []string
	for _, name := range names {
		h, err := purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			// dlopen's message names the library, but some builds (cgo, the
			// race detector) give an empty one: name it here if missing.
			msg := err.Error()
			if !strings.Contains(msg, name) {
				msg = strings.TrimSpace(name + ": " + msg)
			}
			msgs = append(msgs, msg)
			continue
		}
		missing := ""
		for _, s := range bind(name) {
			addr, err := purego.Dlsym(h, s.Name)
			if err != nil || addr == 0 {
				missing = s.Name
				break
			}
			purego.RegisterFunc(s.Fptr, addr)
		}
		if missing == "" {
			return name, nil
		}
		msgs = append(msgs, fmt.Sprintf("%s has no symbol %s", name, missing))
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no library names to try")
	}
	return "", fmt.Errorf("%s", strings.Join(msgs, "; "))
}
