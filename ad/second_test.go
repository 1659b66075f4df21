package ad_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/invad/invad/ad"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// shifted returns xs with xs[i] += h·v[i] for every v[i] != nil.
func shifted(xs, v []*tensor.Tensor, h float64) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		d := append([]float64(nil), x.Data()...)
		if v[i] != nil {
			for k := range d {
				d[k] += h * v[i].Data()[k]
			}
		}
		out[i] = tensor.New(x.Shape(), d)
	}
	return out
}

// TestHVPAgainstGradDifferences checks ∇²L·v of L = Σ (tanh(Wx + b)·x₀)²
// + Σ exp(b)/W₀₀ … (a loss with products, quotients and every input) against
// central differences of Grad along v.
func TestHVPAgainstGradDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	x, w, b := point(rng)
	loss := func(in ...*tape.Var) *tape.Var {
		y := layer(in...)
		x0 := ops.Slice(in[0], 0, 1)
		scaled := ops.Mul(y, ops.Concat(x0, x0, x0, x0))
		return ops.Add(ops.Sum(ops.Square(scaled)), ops.Sum(ops.Div(ops.Exp(in[2]), ops.Concat(x0, x0, x0, x0))))
	}
	xs := []*tensor.Tensor{x, w, b}
	vx, vw, vb := point(rng)
	for _, v := range [][]*tensor.Tensor{{vx, vw, vb}, {vx, nil, nil}, {nil, vw, nil}, {nil, nil, vb}} {
		l, err := ad.Linearize(loss, xs...)
		if err != nil {
			t.Fatal(err)
		}
		hv, err := l.HVP(v...)
		if err != nil {
			t.Fatal(err)
		}
		const h = 1e-5
		_, gp, _ := ad.Grad(loss, shifted(xs, v, h)...)
		_, gm, _ := ad.Grad(loss, shifted(xs, v, -h)...)
		for i := range xs {
			for k, got := range hv[i].Data() {
				want := (gp[i].Data()[k] - gm[i].Data()[k]) / (2 * h)
				if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
					t.Errorf("directions %v: HVP input %d [%d] = %v, differences of Grad %v", nonNil(v), i, k, got, want)
				}
			}
		}
	}
}

// TestGradJVPVector checks the gradient of ⟨c, J·v⟩ for the vector layer
// against central differences of ⟨c, JVP⟩ at shifted points, one element
// at a time.
func TestGradJVPVector(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	x, w, b := point(rng)
	xs := []*tensor.Tensor{x, w, b}
	v := []*tensor.Tensor{tensor.New([]int{3}, []float64{0.3, -0.2, 0.9}), nil, tensor.New([]int{4}, []float64{1, 0, -1, 0.5})}
	c := tensor.New([]int{4}, []float64{0.7, -1.1, 0.4, 2})
	l, err := ad.Linearize(layer, xs...)
	if err != nil {
		t.Fatal(err)
	}
	g, err := l.GradJVP(c, v...)
	if err != nil {
		t.Fatal(err)
	}
	dot := func(xs []*tensor.Tensor) float64 {
		l, err := ad.Linearize(layer, xs...)
		if err != nil {
			t.Fatal(err)
		}
		jv, _ := l.JVP(v...)
		s := 0.0
		for r, e := range jv.Data() {
			s += c.Data()[r] * e
		}
		return s
	}
	const h = 1e-6
	for i := range xs {
		for k := range xs[i].Data() {
			e := make([]*tensor.Tensor, 3)
			e[i] = tensor.Zeros(xs[i].Shape()...)
			e[i].Data()[k] = 1
			want := (dot(shifted(xs, e, h)) - dot(shifted(xs, e, -h))) / (2 * h)
			if got := g[i].Data()[k]; math.Abs(got-want) > 1e-7 {
				t.Errorf("input %d [%d]: %v, differences %v", i, k, got, want)
			}
		}
	}
}

// noSecond hides an op's second-order rule.
type noSecond struct{ tape.Op }

func TestGradJVPWithoutRule(t *testing.T) {
	x := tensor.New([]int{2}, []float64{0.5, 1})
	f := func(in ...*tape.Var) *tape.Var { return ops.Sum(tape.Apply(noSecond{ops.ExpOp}, in[0])) }
	l, err := ad.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.HVP(x); err == nil || !strings.Contains(err.Error(), "exp at tape position 0 has no second-order rule") {
		t.Errorf("err = %v", err)
	}
}

func nonNil(v []*tensor.Tensor) []bool {
	out := make([]bool, len(v))
	for i, t := range v {
		out[i] = t != nil
	}
	return out
}
