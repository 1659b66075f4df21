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
	if s.residual > 1e-12 {
		t.Errorf("Newton residual %g", s.residual)
	}
	if s.xErr > 1e-9 {
		t.Errorf("max |x − x_true| = %g", s.xErr)
	}
}
