package main

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	invadg "github.com/invad/invad/interop/gorgonia"
	"github.com/invad/invad/interop/gtensor"
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
		fmt.Sprintf("‖∇θ‖ = %.6f\n", res.GradNorm),
		fmt.Sprintf("log|det J| = %.6f (first order: %.6f)\n", res.After, res.Predicted),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

// TestGradStep checks the gradient of log|det J| with respect to the
// weights against Gorgonia's own reverse mode of the closed form Σ s, on
// the same flow (rebuilt from the same seed) at the same x, and the
// gradient step against its first-order prediction.
func TestGradStep(t *testing.T) {
	res, err := run(new(bytes.Buffer))
	if err != nil {
		t.Fatal(err)
	}
	// Two evaluations at one point, through different factorizations.
	if d := math.Abs(res.GradLogAbsDet - res.LogAbsDet); !(d <= 1e-12) {
		t.Errorf("LogAbsDetGrad's log|det J| %.15f, Linearize's %.15f", res.GradLogAbsDet, res.LogAbsDet)
	}

	fl := newFlow(rand.New(rand.NewPCG(1, 2)))
	sum := G.Must(G.Add(G.Must(G.Sum(fl.s[0])), G.Must(G.Sum(fl.s[1]))))
	// s reads every weight but the second layer's shift t (Wt2, bt2).
	wrt := fl.weights[:len(fl.weights)-2]
	grads, err := G.Grad(sum, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	if err := G.Let(fl.x, gtensor.ToDense(res.X.Clone())); err != nil {
		t.Fatal(err)
	}
	m := G.NewTapeMachine(fl.g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	if len(res.Grads) != len(fl.weights) {
		t.Fatalf("%d gradients for %d weights", len(res.Grads), len(fl.weights))
	}
	for k, n := range fl.weights {
		got := res.Grads[k]
		if !got.Shape().Eq(n.Shape()) || got.Dtype() != n.Dtype() {
			t.Errorf("gradient of %s: %v of shape %v, want %v of shape %v", n.Name(), got.Dtype(), got.Shape(), n.Dtype(), n.Shape())
			continue
		}
		want := make([]float64, got.Size())
		if k < len(wrt) {
			v, err := invadg.ValueOf(grads[k])
			if err != nil {
				t.Fatal(err)
			}
			want = v.Data()
		}
		// Both exact; rounding of sums over 8 rows of values below 10.
		if d := maxAbsDiff(got.Float64s(), want); !(d <= 1e-12) {
			t.Errorf("gradient of %s differs from gorgonia.Grad of Σ s by %.3g", n.Name(), d)
		}
	}

	// The step raises log|det J| by η‖∇θ‖² + O(η²): 1% of the rise
	// allows |gᵀHg|/‖g‖² up to 20 at η = 1e-3.
	rise := res.Predicted - res.GradLogAbsDet
	if !(res.After > res.GradLogAbsDet) || !(math.Abs(res.After-res.Predicted) <= 0.01*rise) {
		t.Errorf("log|det J| %.9f → %.9f, first-order prediction %.9f", res.GradLogAbsDet, res.After, res.Predicted)
	}
}
