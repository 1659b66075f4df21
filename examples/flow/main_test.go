package main

import (
	"io"
	"math"
	"testing"
)

func TestFlow(t *testing.T) {
	s, err := run(300, 4, 5, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.residual > 1e-12 {
		t.Errorf("Newton residual %g", s.residual)
	}
	// The flow is well conditioned (|s| ≲ 1), so x is recovered to a few ulps
	// of the residual tolerance.
	if s.xErr > 1e-9 {
		t.Errorf("max |x − x_true| = %g", s.xErr)
	}
	// log|det J| = Σ s over 2400 terms of size ≲ 1: rounding ~1e-12.
	if d := math.Abs(s.logdet - s.closedTotal); d > 1e-9*math.Max(1, math.Abs(s.closedTotal)) {
		t.Errorf("batch log|det J| %g, closed form %g", s.logdet, s.closedTotal)
	}
	if s.perSampleErr > 1e-12 {
		t.Errorf("per-sample log|det J| off by %g", s.perSampleErr)
	}
}
