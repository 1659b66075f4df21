package main

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestExample runs the example and checks what it prints: Newton converges
// to x_true, and log|det J| equals the closed form Σ s.
func TestExample(t *testing.T) {
	var out bytes.Buffer
	res, err := run(&out)
	if err != nil {
		t.Fatal(err)
	}
	// |y| stays below 5 here, so f(x) − y carries rounding of about
	// 5·2.2e-16 ≈ 1e-15; x's error is amplified by ‖J⁻¹‖ ≤ e² per layer.
	const residualTol, errorTol = 1e-13, 1e-12
	if n := len(res.Residuals); n != steps+1 {
		t.Fatalf("%d residuals, want %d", n, steps+1)
	}
	if last := res.Residuals[steps]; !(last <= residualTol) {
		t.Errorf("final residual %.3g, want ≤ %g; residuals %.3g", last, residualTol, res.Residuals)
	}
	if !(res.Error <= errorTol) {
		t.Errorf("‖x − x_true‖∞ = %.3g, want ≤ %g", res.Error, errorTol)
	}
	// Both are sums of 32 terms in (−1, 1): rounding below 32·2.2e-16.
	if d := math.Abs(res.LogAbsDet - res.SumS); !(d <= 1e-13) {
		t.Errorf("log|det J| = %.15f, Σ s = %.15f: differ by %.3g", res.LogAbsDet, res.SumS, d)
	}
	if res.SumS == 0 {
		t.Errorf("Σ s = 0: the closed form read no values")
	}
	// The printed report says the same.
	text := out.String()
	for _, want := range []string{
		fmt.Sprintf("step %d: ‖f(x) − y‖∞ = %.3e\n", steps, res.Residuals[steps]),
		fmt.Sprintf("‖x − x_true‖∞ = %.3e\n", res.Error),
		fmt.Sprintf("log|det J| = %.12f (invad, exact)\n", res.LogAbsDet),
		fmt.Sprintf("Σ s        = %.12f (closed form, from Gorgonia's run)\n", res.SumS),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}
