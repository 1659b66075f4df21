package main

import (
	"io"
	"testing"
)

func TestTriangular(t *testing.T) {
	s, err := run(20000, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// The residual tolerance is 1e-9·√n; ∂F/∂x = L·D with D ≥ 0.05 (leaky slope
	// 0.1 times 1 + 0.5 cos x ≥ 0.5) and L⁻¹ a difference, so
	// |x − x*| ≤ 2·‖F‖∞/0.05 = 40·‖F‖∞ ≲ 6e-6; in practice Newton overshoots
	// the tolerance by orders of magnitude.
	if s.xErr > 1e-6 {
		t.Errorf("max |x − x_true| = %g after %d iterations", s.xErr, s.iters)
	}
	kinds := map[string]int{}
	for _, l := range s.lumps {
		kinds[l.Kind.String()]++
	}
	// cumsum and leaky_relu are steps; x + 0.5 sin x is one 1×1 batch lump;
	// the output F = g(x) − b is a step on g(x).
	if kinds["step"] != 3 || kinds["batch"] != 1 || kinds["dense"] != 0 {
		t.Errorf("lumps by kind %v, want 3 steps and 1 batch", kinds)
	}
}
