package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFromY: the loops of a declaration's FromY compute its DF and D2F
// (the definition) bit for bit, over x across the range where f' is not
// negligible and at the ends where y saturates; and the ops that declare
// one are the expected three.
func TestFromY(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var names []string
	for _, d := range UnaryDecls() {
		if d.FromY == FromYNone {
			continue
		}
		names = append(names, d.Name)
		xs := []float64{0, -0, 1e-300, -40, 40, 700, -700}
		for range 1000 {
			xs = append(xs, 20*rng.Float64()-10)
		}
		for _, x := range xs {
			y := d.F(x, 0)
			if got, want := dfy(d.FromY, y), d.DF(x, y, 0); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%s at x = %g: f' from y %g, DF %g", d.Name, x, got, want)
			}
			if got, want := d2fy(d.FromY, y), d.D2F(x, y, 0); math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%s at x = %g: f″ from y %g, D2F %g", d.Name, x, got, want)
			}
		}
	}
	if len(names) != 3 {
		t.Errorf("FromY declared by %v, want exp, tanh and sigmoid", names)
	}
}
