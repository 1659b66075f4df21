package cudadrv

import (
	"fmt"

	"github.com/invad/invad/internal/dynlib"
)

// open dlopens the first of names that loads and resolves every symbol.
func open(names []string) (*library, error) {
	var l *library
	if _, err := dynlib.Open(names, func(name string) []dynlib.Symbol {
		l = &library{path: name}
		return l.symbols()
	}); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDriver, err)
	}
	return l, nil
}
