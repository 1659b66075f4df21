package inverse_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tensor"
)

// nanLike returns a tensor of the shape filled with NaN, so that an element
// a ...To product fails to write shows.
func nanLike(shape []int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = math.NaN()
	}
	return t
}

// TestProductsToAgainstDenseReference checks the ...To forms on every test
// program, into NaN-filled destinations: JVPTo and VJPTo against the dense
// J (from JVPs) times the vector, IJVPTo and VIJPTo against gonum's LU solve.
func TestProductsToAgainstDenseReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, p := range programs {
		t.Run(p.Name, func(t *testing.T) {
			x := point(p, 1)
			lin, err := inverse.Linearize(p.F, x)
			if err != nil {
				t.Fatal(err)
			}
			Jm, lu := denseRef(t, lin)
			n := lin.Len()
			// As in TestInverseProductsAgainstDenseLU: the test programs'
			// condition numbers stay below ~1e3.
			const tol = 1e-10
			xs, ys := x.Shape(), lin.Output().Shape()
			for _, tc := range []struct {
				name    string
				in, out []int
				trans   bool
				inverse bool
				product func(dst, v *tensor.Tensor) error
			}{
				{"JVPTo", xs, ys, false, false, lin.JVPTo},
				{"VJPTo", ys, xs, true, false, lin.VJPTo},
				{"IJVPTo", ys, xs, false, true, lin.IJVPTo},
				{"VIJPTo", xs, ys, true, true, lin.VIJPTo},
			} {
				v := randTensor(rng, tc.in)
				vec := mat.NewVecDense(n, append([]float64(nil), v.Data()...))
				var want mat.VecDense
				switch {
				case tc.inverse:
					if err := lu.SolveVecTo(&want, tc.trans, vec); err != nil {
						t.Fatal(err)
					}
				case tc.trans:
					want.MulVec(Jm.T(), vec)
				default:
					want.MulVec(Jm, vec)
				}
				dst := nanLike(tc.out)
				if err := tc.product(dst, v); err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if e := relErr(dst.Data(), want.RawVector().Data); e > tol || math.IsNaN(e) {
					t.Errorf("%s vs the dense reference: relative error %g", tc.name, e)
				}
			}
		})
	}
}

// TestProductsToAllocateNothing: once factorized and pooled, the ...To
// forms allocate nothing per call at all (a Newton loop's steady state).
func TestProductsToAllocateNothing(t *testing.T) {
	const n = 100_000
	x, v := tensor.Zeros(n), tensor.Zeros(n)
	for i := range x.Data() {
		x.Data()[i] = float64(i%7) / 7
		v.Data()[i] = 1
	}
	p := programs[0]
	for _, q := range programs {
		if q.Name == "x+sin(x)" {
			p = q
		}
	}
	lin, err := inverse.Linearize(p.F, x)
	if err != nil {
		t.Skipf("%s at n = %d: %v", p.Name, n, err)
	}
	dst := tensor.Zeros(n)
	for _, tc := range []struct {
		name string
		call func(dst, v *tensor.Tensor) error
	}{{"JVPTo", lin.JVPTo}, {"VJPTo", lin.VJPTo}, {"IJVPTo", lin.IJVPTo}, {"VIJPTo", lin.VIJPTo}} {
		if err := tc.call(dst, v); err != nil { // factorize and warm the pool
			t.Fatalf("%s: %v", tc.name, err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		const calls = 5
		for range calls {
			if err := tc.call(dst, v); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		// 8n bytes is one vector of 800 KB; allow 64 KB for closures and
		// slice headers, far below it.
		if per := float64(after.TotalAlloc-before.TotalAlloc) / calls; per > 64<<10 {
			t.Errorf("%s allocates %.0f bytes a call, want under 64 KB (no vector)", tc.name, per)
		}
	}
}

// TestProductsToCallerMistakes: a nil, misshapen or aliased dst panics with
// an "inverse: " message and leaves x and the argument as they were.
func TestProductsToCallerMistakes(t *testing.T) {
	lin, err := inverse.Linearize(programs[0].F, point(programs[0], 1))
	if err != nil {
		t.Fatal(err)
	}
	n := lin.Len()
	v := tensor.Zeros(lin.Input().Shape()...)
	for i := range v.Data() {
		v.Data()[i] = float64(i + 1)
	}
	vBefore := append([]float64(nil), v.Data()...)
	xBefore := append([]float64(nil), lin.Input().Data()...)
	for _, tc := range []struct {
		name string
		call func()
	}{
		{"nil dst", func() { lin.IJVPTo(nil, v) }},
		{"short dst", func() { lin.VIJPTo(tensor.Zeros(n+1), v) }},
		{"dst is the argument", func() { lin.IJVPTo(v, v) }},
		{"dst overlaps the argument", func() {
			big := tensor.Zeros(2 * n)
			lin.JVPTo(tensor.New(lin.Output().Shape(), big.Data()[1:n+1]), tensor.New(v.Shape(), big.Data()[:n]))
		}},
		{"dst is x", func() { lin.VJPTo(lin.Input(), v) }},
		{"dst is f(x)", func() { lin.JVPTo(lin.Output(), v) }},
	} {
		func() {
			defer func() {
				r, _ := recover().(string)
				if !strings.HasPrefix(r, "inverse: ") {
					t.Errorf("%s: panic %q, want an \"inverse: \" message", tc.name, r)
				}
			}()
			tc.call()
		}()
	}
	for i := range v.Data() {
		if v.Data()[i] != vBefore[i] || lin.Input().Data()[i] != xBefore[i] {
			t.Fatalf("a refused call changed its argument or x")
		}
	}
}
