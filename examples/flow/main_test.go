package main

import (
	"io"
	"testing"
)

func TestFlow(t *testing.T) {
	s, err := run(300, 4, 5, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// Row-major [B, d], yet no lump couples two samples: no block wider
	// than one sample's features.
	if s.maxLump > dim {
		t.Errorf("a block of width %d, more than a sample's %d features", s.maxLump, dim)
	}
	// log|det J| per sample: Σ s over 16 terms of size < 1 plus four
	// log|det W|: rounding ~1e-14.
	if s.perSampleErr > 1e-12 || s.logpErr > 1e-12 {
		t.Errorf("per-sample log|det J| off by %g, log p off by %g", s.perSampleErr, s.logpErr)
	}
	// Invert: every lump is affine in its unknowns (couplings, scales,
	// mixings): one Newton step each.
	if s.invertSteps != 1 || s.xErr > 1e-10 {
		t.Errorf("Invert: %d steps on a lump, max |x − x_true| = %g", s.invertSteps, s.xErr)
	}
	if s.residual > 1e-12 || s.newtonErr > 1e-9 {
		t.Errorf("global Newton: residual %g, max |x − x_true| = %g", s.residual, s.newtonErr)
	}
}
