package bench

import (
	"math"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
)

// Elementwise10 is a 10-op elementwise program f: Rⁿ → Rⁿ:
// log(1 + sigmoid(tanh(e^{sin(x)/2}·x) + x)²).
func Elementwise10(x *tape.Var) *tape.Var {
	a := ops.Sin(x)
	b := ops.Scale(a, 0.5)
	c := ops.Exp(b)
	d := ops.Mul(c, x)
	e := ops.Tanh(d)
	f := ops.Add(e, x)
	g := ops.Sigmoid(f)
	h := ops.Square(g)
	i := ops.AddScalar(h, 1)
	return ops.Log(i)
}

// Elementwise10Plain is Elementwise10 written as plain Go loops over slices,
// one new slice per step, as a user would write it without invad.
func Elementwise10Plain(x []float64) []float64 {
	n := len(x)
	step := func(f func(i int) float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	a := step(func(i int) float64 { return math.Sin(x[i]) })
	b := step(func(i int) float64 { return 0.5 * a[i] })
	c := step(func(i int) float64 { return math.Exp(b[i]) })
	d := step(func(i int) float64 { return c[i] * x[i] })
	e := step(func(i int) float64 { return math.Tanh(d[i]) })
	f := step(func(i int) float64 { return e[i] + x[i] })
	g := step(func(i int) float64 { return 1 / (1 + math.Exp(-f[i])) })
	h := step(func(i int) float64 { return g[i] * g[i] })
	j := step(func(i int) float64 { return h[i] + 1 })
	return step(func(i int) float64 { return math.Log(j[i]) })
}
