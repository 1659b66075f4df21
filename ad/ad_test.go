package ad_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/invad/invad/ad"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// layer is y = tanh(W·x + b): x [3], W [4,3], b [4] → y [4], f: R³ × R¹² ×
// R⁴ → R⁴, not square.
func layer(in ...*tape.Var) *tape.Var {
	x, w, b := in[0], in[1], in[2]
	return ops.Tanh(ops.Add(ops.MatMul(w, x), b))
}

// layerPlain is layer in plain Go, the reference.
func layerPlain(x, w, b []float64) []float64 {
	y := make([]float64, 4)
	for i := range y {
		s := b[i]
		for j := range 3 {
			s += w[i*3+j] * x[j]
		}
		y[i] = math.Tanh(s)
	}
	return y
}

func point(rng *rand.Rand) (x, w, b *tensor.Tensor) {
	r := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.Float64()*2 - 1
		}
		return v
	}
	return tensor.New([]int{3}, r(3)), tensor.New([]int{4, 3}, r(12)), tensor.New([]int{4}, r(4))
}

// fdJacobian is the m×nᵢ Jacobian of layerPlain with respect to input i by
// central differences: an independent reference.
func fdJacobian(xs [][]float64, i int) [][]float64 {
	const h = 1e-6
	n := len(xs[i])
	J := make([][]float64, 4)
	for r := range J {
		J[r] = make([]float64, n)
	}
	for c := range n {
		save := xs[i][c]
		xs[i][c] = save + h
		yp := layerPlain(xs[0], xs[1], xs[2])
		xs[i][c] = save - h
		ym := layerPlain(xs[0], xs[1], xs[2])
		xs[i][c] = save
		for r := range 4 {
			J[r][c] = (yp[r] - ym[r]) / (2 * h)
		}
	}
	return J
}

func TestJacobiansAgainstFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, w, b := point(rng)
	l, err := ad.Linearize(layer, x, w, b)
	if err != nil {
		t.Fatal(err)
	}
	want := layerPlain(x.Data(), w.Data(), b.Data())
	for i, v := range l.Output().Data() {
		if math.Abs(v-want[i]) > 1e-15 {
			t.Fatalf("f = %v, want %v", l.Output().Data(), want)
		}
	}
	xs := [][]float64{x.Data(), w.Data(), b.Data()}
	for i := range 3 {
		J, err := l.Jacobian(i)
		if err != nil {
			t.Fatal(err)
		}
		ref := fdJacobian(xs, i)
		if got := J.Shape(); got[0] != 4 || got[1] != len(xs[i]) {
			t.Fatalf("Jacobian(%d) shape %v", i, got)
		}
		for r := range 4 {
			for c := range ref[r] {
				if d := math.Abs(J.Data()[r*len(xs[i])+c] - ref[r][c]); d > 1e-8 {
					t.Errorf("Jacobian(%d)[%d][%d] = %v, central differences %v", i, r, c, J.Data()[r*len(xs[i])+c], ref[r][c])
				}
			}
		}
	}
}

// TestProductsAgainstJacobians checks JVP with some tangents nil and VJP
// with some destinations nil against the dense Jacobians from central
// differences, and the two against each other (⟨cy, J dx⟩ = ⟨Jᵀcy, dx⟩).
func TestProductsAgainstJacobians(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x, w, b := point(rng)
	l, err := ad.Linearize(layer, x, w, b)
	if err != nil {
		t.Fatal(err)
	}
	xs := [][]float64{x.Data(), w.Data(), b.Data()}
	refs := [][][]float64{fdJacobian(xs, 0), fdJacobian(xs, 1), fdJacobian(xs, 2)}
	dx, dw, db := point(rng)
	tangents := []*tensor.Tensor{dx, dw, db}
	for _, mask := range [][]bool{{true, true, true}, {true, false, false}, {false, true, false}, {false, false, true}, {false, true, true}} {
		args := make([]*tensor.Tensor, 3)
		want := make([]float64, 4)
		for i, on := range mask {
			if !on {
				continue
			}
			args[i] = tangents[i]
			for r := range 4 {
				for c, v := range tangents[i].Data() {
					want[r] += refs[i][r][c] * v
				}
			}
		}
		got, err := l.JVP(args...)
		if err != nil {
			t.Fatal(err)
		}
		for r := range 4 {
			if math.Abs(got.Data()[r]-want[r]) > 1e-8 {
				t.Errorf("tangents %v: JVP = %v, want %v", mask, got.Data(), want)
				break
			}
		}
	}
	cy := tensor.New([]int{4}, []float64{0.3, -1.2, 0.7, 2})
	g, err := l.VJP(cy)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		for c := range xs[i] {
			want := 0.0
			for r := range 4 {
				want += refs[i][r][c] * cy.Data()[r]
			}
			if math.Abs(g[i].Data()[c]-want) > 1e-8 {
				t.Errorf("VJP input %d element %d = %v, want %v", i, c, g[i].Data()[c], want)
			}
		}
	}
	// Only W's cotangent: the same numbers.
	dst := []*tensor.Tensor{nil, tensor.Zeros(4, 3), nil}
	if err := l.VJPTo(dst, cy); err != nil {
		t.Fatal(err)
	}
	for c, v := range dst[1].Data() {
		if v != g[1].Data()[c] {
			t.Fatalf("VJPTo with only dst[1]: %v, VJP %v", dst[1].Data(), g[1].Data())
		}
	}
	// ⟨cy, J dx⟩ = ⟨Jᵀcy, dx⟩ to rounding.
	jdx, _ := l.JVP(tangents...)
	lhs, rhs := 0.0, 0.0
	for r, v := range jdx.Data() {
		lhs += cy.Data()[r] * v
	}
	for i := range 3 {
		for c, v := range tangents[i].Data() {
			rhs += g[i].Data()[c] * v
		}
	}
	if math.Abs(lhs-rhs) > 1e-13*math.Max(1, math.Abs(lhs)) {
		t.Errorf("⟨cy, J dx⟩ = %.17g, ⟨Jᵀcy, dx⟩ = %.17g", lhs, rhs)
	}
}

// TestGradClosedForm checks Grad of L = Σ tanh(Wx + b)² against its closed
// form: with s = 2y(1 − y²), ∂L/∂x = Wᵀs, ∂L/∂W = s xᵀ, ∂L/∂b = s.
func TestGradClosedForm(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x, w, b := point(rng)
	loss := func(in ...*tape.Var) *tape.Var { return ops.Sum(ops.Square(layer(in...))) }
	val, g, err := ad.Grad(loss, x, w, b)
	if err != nil {
		t.Fatal(err)
	}
	y := layerPlain(x.Data(), w.Data(), b.Data())
	wantVal := 0.0
	s := make([]float64, 4)
	for i, v := range y {
		wantVal += v * v
		s[i] = 2 * v * (1 - v*v)
	}
	if math.Abs(val-wantVal) > 1e-15 {
		t.Errorf("value %v, want %v", val, wantVal)
	}
	const tol = 1e-15
	for j := range 3 {
		want := 0.0
		for i := range 4 {
			want += w.Data()[i*3+j] * s[i]
		}
		if math.Abs(g[0].Data()[j]-want) > tol {
			t.Errorf("∂L/∂x[%d] = %v, want %v", j, g[0].Data()[j], want)
		}
	}
	for i := range 4 {
		for j := range 3 {
			if want := s[i] * x.Data()[j]; math.Abs(g[1].Data()[i*3+j]-want) > tol {
				t.Errorf("∂L/∂W[%d][%d] = %v, want %v", i, j, g[1].Data()[i*3+j], want)
			}
		}
		if math.Abs(g[2].Data()[i]-s[i]) > tol {
			t.Errorf("∂L/∂b[%d] = %v, want %v", i, g[2].Data()[i], s[i])
		}
	}
}

// TestDegenerate: f returning an input, a constant, an unused input.
func TestDegenerate(t *testing.T) {
	x := tensor.New([]int{2}, []float64{1, 2})
	y := tensor.New([]int{3}, []float64{3, 4, 5})
	second := func(in ...*tape.Var) *tape.Var { return in[1] }
	l, err := ad.Linearize(second, x, y)
	if err != nil {
		t.Fatal(err)
	}
	dy := tensor.New([]int{3}, []float64{1, -1, 2})
	if got, _ := l.JVP(nil, dy); !slices.Equal(got.Data(), dy.Data()) {
		t.Errorf("JVP of the identity in y: %v", got.Data())
	}
	if got, _ := l.JVP(tensor.New([]int{2}, []float64{5, 6}), nil); !slices.Equal(got.Data(), []float64{0, 0, 0}) {
		t.Errorf("JVP in x alone: %v, want zeros", got.Data())
	}
	g, _ := l.VJP(dy)
	if !slices.Equal(g[0].Data(), []float64{0, 0}) || !slices.Equal(g[1].Data(), dy.Data()) {
		t.Errorf("VJP: %v %v", g[0].Data(), g[1].Data())
	}
	// y read only by an op on x alone: its cotangent is zero.
	onlyX := func(in ...*tape.Var) *tape.Var { return ops.Exp(in[0]) }
	val, g2, err := ad.Grad(func(in ...*tape.Var) *tape.Var { return ops.Sum(onlyX(in...)) }, x, y)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(val-(math.E+math.Exp(2))) > 1e-14 || !slices.Equal(g2[1].Data(), []float64{0, 0, 0}) ||
		math.Abs(g2[0].Data()[0]-math.E) > 1e-15 || math.Abs(g2[0].Data()[1]-math.Exp(2)) > 1e-14 {
		t.Errorf("Grad of Σ exp(x): %v, %v %v", val, g2[0].Data(), g2[1].Data())
	}
}

func TestErrorsAndPanics(t *testing.T) {
	x := tensor.New([]int{2}, []float64{1, -1})
	_, err := ad.Linearize(func(in ...*tape.Var) *tape.Var { return ops.Log(in[0]) }, x)
	var nf *tape.NonFiniteError
	if !errors.As(err, &nf) || nf.Op != "log" || !strings.HasPrefix(err.Error(), "ad: ") {
		t.Errorf("log(−1): err = %v, want a NonFiniteError naming log, prefixed ad:", err)
	}
	bad := tensor.New([]int{2}, []float64{1, math.NaN()})
	if _, err := ad.Linearize(func(in ...*tape.Var) *tape.Var { return in[0] }, x, bad); !errors.Is(err, tape.ErrNonFinite) || !strings.Contains(err.Error(), "input 1") {
		t.Errorf("a NaN input: err = %v", err)
	}
	l, _ := ad.Linearize(func(in ...*tape.Var) *tape.Var { return ops.Mul(in[0], in[1]) }, x, x)
	for name, f := range map[string]func(){
		"Grad of a vector": func() { ad.Grad(func(in ...*tape.Var) *tape.Var { return in[0] }, x) },
		"too few tangents": func() { l.JVP(x) },
		"tangent shape":    func() { l.JVP(tensor.Zeros(3), nil) },
		"cotangent shape":  func() { l.VJP(tensor.Zeros(3)) },
		"dst over input":   func() { l.JVPTo(x, nil, x) },
		"Jacobian index":   func() { l.Jacobian(2) },
		"no input":         func() { ad.Linearize(func(in ...*tape.Var) *tape.Var { return nil }) },
	} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "ad: ") {
					t.Errorf("%s: recovered %v, want a panic \"ad: ...\"", name, r)
				}
			}()
			f()
		}()
	}
	ad.MaxDenseElements = 3
	defer func() { ad.MaxDenseElements = 1 << 30 }()
	if _, err := l.Jacobian(0); !errors.Is(err, tape.ErrTooLarge) {
		t.Errorf("a 2×2 Jacobian over a limit of 3: err = %v", err)
	}
}
