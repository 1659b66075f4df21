//go:build linux

package cudadrv

import (
	"fmt"
	"strings"

	"github.com/ebitengine/purego"
)

// open dlopens the first of names that loads and resolves every symbol.
func open(names []string) (*library, error) {
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
		l := &library{path: name}
		for _, s := range l.symbols() {
			addr, err := purego.Dlsym(h, s.name)
			if err != nil || addr == 0 {
				// The library stays open: the process may hold other
				// handles to it, and closing it gains nothing.
				return nil, fmt.Errorf("%w: %s has no symbol %s", ErrNoDriver, name, s.name)
			}
			purego.RegisterFunc(s.fptr, addr)
		}
		return l, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrNoDriver, strings.Join(msgs, "; "))
}
