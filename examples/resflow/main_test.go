package main

import (
	"io"
	"testing"
)

func TestResflow(t *testing.T) {
	s, err := run(200, 3, 5, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// One batch lump per block, of per-sample d×d blocks.
	if s.maxBlock != dim {
		t.Errorf("the widest block is %d, want a sample's %d", s.maxBlock, dim)
	}
	// Exact per-sample log|det J| against gonum's LU of each sample's
	// dense I + J_g, three blocks of 8×8: rounding ~1e-15.
	if s.exactErr > 1e-12 {
		t.Errorf("per-sample log|det J| off by %g", s.exactErr)
	}
	// The power series with one probe is unbiased but noisy: it must not
	// look exact (else the comparison shows nothing).
	if s.estErr < 1e-3 {
		t.Errorf("the stochastic estimate is within %g of the exact value: the reference is suspect", s.estErr)
	}
	if s.residual > 1e-12 || s.xErr > 1e-10 {
		t.Errorf("Newton: residual %g, max |x − x_true| %g", s.residual, s.xErr)
	}
	if s.invertErr > 1e-10 {
		t.Errorf("Invert: max |x − x_true| %g", s.invertErr)
	}
	if s.fixedErr > 1e-10 {
		t.Errorf("fixed point: max |x − x_true| %g", s.fixedErr)
	}
}
