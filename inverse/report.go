package inverse

import (
	"io"

	"github.com/invad/invad/sweep"
)

// LumpInfo describes one lump of a Linearization: a diagonal block of the
// block triangular form of its extended Jacobian system.
type LumpInfo = sweep.LumpInfo

// Describer is implemented by factors that can say how they factorize.
type Describer interface{ Describe() string }

// NumLumps returns the number of lumps, without building their report
// (Lumps); it triggers the analysis and factorization like the first
// inverse product, and returns their errors.
func (l *Linearization) NumLumps() (int, error) {
	x, err := l.prepare()
	if err != nil {
		return 0, err
	}
	return len(x.P.An.Lumps), nil
}

// Lumps reports every lump, in solve order. It triggers the analysis and
// factorization like the first inverse product, and returns its errors.
func (l *Linearization) Lumps() ([]LumpInfo, error) {
	x, err := l.prepare()
	if err != nil {
		return nil, err
	}
	return x.Lumps(), nil
}

// WriteLumps prints the lump report as a table: one row per step, batch,
// dense and copy lump, with expansions counted in a closing line.
func WriteLumps(w io.Writer, lumps []LumpInfo) { sweep.WriteLumps(w, lumps) }
