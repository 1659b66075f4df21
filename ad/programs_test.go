package ad_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/invad/invad/ad"
	"github.com/invad/invad/inverse/inversetest"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestInverseProgramsMadeGeneral runs every composed test program f of
// package inverse (every lump kind) made non-square and given a
// parameter, g(x, a) = [f(x)·a, Σ f(x)²] ∈ Rⁿ⁺¹, through the ordinary
// modes, each against an independent reference: JVP along random
// directions against central differences of g; VJP against JVP (⟨c, J v⟩ =
// ⟨Jᵀc, v⟩); Grad of L = Σ g² along random directions against central
// differences of L; HVP against central differences of Grad.
func TestInverseProgramsMadeGeneral(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for _, p := range inversetest.Programs() {
		t.Run(p.Name, func(t *testing.T) {
			x := inversetest.Point(p, 3)
			n := x.Len()
			a := tensor.Zeros(x.Shape()...)
			for k := range a.Data() {
				a.Data()[k] = 0.5 + rng.Float64()
			}
			g := func(in ...*tape.Var) *tape.Var {
				y := p.F(in[0])
				scaled := ops.Reshape(ops.Mul(y, in[1]), n)
				return ops.Concat(scaled, ops.Reshape(ops.Sum(ops.Square(y)), 1))
			}
			loss := func(in ...*tape.Var) *tape.Var { return ops.Sum(ops.Square(g(in...))) }
			xs := []*tensor.Tensor{x, a}
			l, err := ad.Linearize(g, xs...)
			if err != nil {
				t.Fatal(err)
			}
			eval := func(xs []*tensor.Tensor) []float64 {
				l, err := ad.Linearize(g, xs...)
				if err != nil {
					t.Fatal(err)
				}
				return l.Output().Data()
			}
			dir := func() []*tensor.Tensor {
				v := []*tensor.Tensor{tensor.Zeros(x.Shape()...), tensor.Zeros(a.Shape()...)}
				for _, t := range v {
					for k := range t.Data() {
						t.Data()[k] = rng.Float64()*2 - 1
					}
				}
				return v
			}
			scale := func(w []float64) float64 {
				s := 1.0
				for _, e := range w {
					s = math.Max(s, math.Abs(e))
				}
				return s
			}
			h := 1e-6 * math.Max(1, (p.Hi-p.Lo)/2)
			for range 2 {
				v := dir()
				jv, err := l.JVP(v...)
				if err != nil {
					t.Fatal(err)
				}
				yp, ym := eval(shifted(xs, v, h)), eval(shifted(xs, v, -h))
				for r := range jv.Data() {
					fd := (yp[r] - ym[r]) / (2 * h)
					if d := math.Abs(jv.Data()[r] - fd); d > 1e-5*scale(jv.Data()) {
						t.Fatalf("JVP[%d] = %v, central differences %v", r, jv.Data()[r], fd)
					}
				}
				c := tensor.Zeros(n + 1)
				for k := range c.Data() {
					c.Data()[k] = rng.Float64()*2 - 1
				}
				ct, err := l.VJP(c)
				if err != nil {
					t.Fatal(err)
				}
				lhs, rhs := 0.0, 0.0
				for r, e := range jv.Data() {
					lhs += c.Data()[r] * e
				}
				for i := range v {
					for k, e := range v[i].Data() {
						rhs += ct[i].Data()[k] * e
					}
				}
				if math.Abs(lhs-rhs) > 1e-10*math.Max(1, math.Abs(lhs)) {
					t.Errorf("⟨c, J v⟩ = %.15g, ⟨Jᵀc, v⟩ = %.15g", lhs, rhs)
				}
				// Grad and HVP of the loss along v.
				_, gr, err := ad.Grad(loss, xs...)
				if err != nil {
					t.Fatal(err)
				}
				lp, _, _ := ad.Grad(loss, shifted(xs, v, h)...)
				lm, _, _ := ad.Grad(loss, shifted(xs, v, -h)...)
				dd := 0.0
				for i := range v {
					for k, e := range v[i].Data() {
						dd += gr[i].Data()[k] * e
					}
				}
				if fd := (lp - lm) / (2 * h); math.Abs(dd-fd) > 1e-5*math.Max(1, math.Abs(fd)) {
					t.Errorf("⟨∇L, v⟩ = %v, central differences %v", dd, fd)
				}
				ll, err := ad.Linearize(loss, xs...)
				if err != nil {
					t.Fatal(err)
				}
				hv, err := ll.HVP(v...)
				if err != nil {
					t.Fatal(err)
				}
				_, gp, _ := ad.Grad(loss, shifted(xs, v, h)...)
				_, gm, _ := ad.Grad(loss, shifted(xs, v, -h)...)
				for i := range v {
					hs := 1.0
					for k := range hv[i].Data() {
						hs = math.Max(hs, math.Abs((gp[i].Data()[k]-gm[i].Data()[k])/(2*h)))
					}
					for k, e := range hv[i].Data() {
						fd := (gp[i].Data()[k] - gm[i].Data()[k]) / (2 * h)
						if math.Abs(e-fd) > 1e-4*hs {
							t.Fatalf("HVP input %d [%d] = %v, central differences of Grad %v (scale %v)", i, k, e, fd, hs)
						}
					}
				}
			}
		})
	}
}
