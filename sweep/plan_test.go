package sweep

import (
	"testing"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestTrialLayout checks the extraction layout of the 1-D Bratu lump,
// whose values are cut into four atoms each by the shifts: every op's run
// of rows writes its whole output at once (span), and the trial buffer
// holds the three values live at once, not one per op (six).
func TestTrialLayout(t *testing.T) {
	const n = 5000
	tp := tape.NewTape()
	x := tp.Input(tensor.Zeros(n))
	p := tp.Finish(x, catalog.Bratu1D(1)(x))
	an, err := lump.Analyze(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(an.Lumps) != 1 || an.Lumps[0].Kind != lump.Sparse {
		t.Fatalf("lumps: %d, the first %v; want one sparse lump", len(an.Lumps), an.Lumps[0].Kind)
	}
	L := &Compile(an).lumps[0]
	runs, spans := 0, 0
	for i, r := range L.ext.rows {
		if i == 0 || r.jv != L.ext.rows[i-1].jv {
			runs++
			if r.span > 0 {
				spans++
			}
		}
	}
	if runs != 6 || spans != runs {
		t.Errorf("%d op runs, %d written whole; want 6 and 6", runs, spans)
	}
	if L.trialLen > 3*n {
		t.Errorf("trial length %d, want at most %d", L.trialLen, 3*n)
	}
	// No two atoms live at once share elements: each op's output slot is
	// disjoint from its inputs' (the pass would read what it overwrites).
	for i, r := range L.ext.rows {
		if r.span == 0 {
			continue
		}
		lo := L.trialOff[r.dst] - r.eqOff
		hi := lo + tensor.SizeOf(r.spanShape)
		for _, a := range L.ext.jvps[r.jv].args {
			for _, pc := range a.pieces {
				if off, ok := L.trialOff[pc.atom]; ok && off < hi && lo < off+pc.n {
					t.Errorf("row %d: output [%d, %d) overlaps input atom %d at [%d, %d)", i, lo, hi, pc.atom, off, off+pc.n)
				}
			}
		}
	}
}
