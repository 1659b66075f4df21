package inverse_test

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

func TestTapelessVIJPMatchesTaped(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, p := range programs {
		t.Run(p.Name, func(t *testing.T) {
			x := point(p, 1)
			lin, err := inverse.Linearize(p.F, x)
			if err != nil {
				t.Fatal(err)
			}
			cx := randTensor(rng, x.Shape())
			want, err := lin.VIJP(cx)
			if err != nil {
				t.Fatal(err)
			}
			got, st, err := inverse.VIJPStats(p.F, x, cx)
			if err != nil {
				t.Fatalf("tapeless VIJP: %v", err)
			}
			// The same lumps and the same arithmetic in another order: rounding only.
			if e := relErr(got.Data(), want.Data()); e > 1e-12 {
				t.Errorf("tapeless vs taped VIJP: relative error %g", e)
			}
			ld, _ := lin.LogAbsDet()
			if d := st.LogAbsDet - ld; d > 1e-12 || d < -1e-12 {
				t.Errorf("tapeless log|det J| %g, taped %g", st.LogAbsDet, ld)
			}
		})
	}
}

// chain applies L elementwise steps to x: a program whose width is n at
// every point and whose length grows with L.
func chain(L int) func(*tape.Var) *tape.Var {
	return func(x *tape.Var) *tape.Var {
		for i := 0; i < L; i++ {
			switch i % 3 {
			case 0:
				x = ops.Tanh(x)
			case 1:
				x = ops.AddScalar(ops.Scale(x, 1.5), 0.1)
			default:
				x = ops.Add(x, ops.Scale(ops.Sin(x), 0.3))
			}
		}
		return x
	}
}

func TestTapelessMemoryIsFlat(t *testing.T) {
	const n = 10_000
	x, cx := tensor.Zeros(n), tensor.Zeros(n)
	for i := range x.Data() {
		x.Data()[i] = float64(i%13)/13 - 0.5
		cx.Data()[i] = 1
	}
	var peaks []int64
	for _, L := range []int{6, 24, 96} {
		_, st, err := inverse.VIJPStats(chain(L), x, cx)
		if err != nil {
			t.Fatal(err)
		}
		peaks = append(peaks, st.PeakHeld)
		lin, err := inverse.Linearize(chain(L), x)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("L = %d ops: tapeless peak %d bytes, taped program holds %d bytes", L, st.PeakHeld, lin.TapeBytes())
	}
	if peaks[1] != peaks[0] || peaks[2] != peaks[0] {
		t.Errorf("peak held bytes grow with the program: %v", peaks)
	}
	// A handful of values of n at once, whatever the length. PeakHeld
	// counts the streamed values, the accumulators and the factorization
	// scratch kept for reuse (for the lump x + 0.3 sin x: its block, the
	// ones tangent, a column and two trial values, five values of n that
	// earlier versions allocated anew per lump and did not count): 9 here.
	if peaks[0] > 10*8*n {
		t.Errorf("peak %d bytes is more than 10 values of n", peaks[0])
	}
}

func TestTapelessErrors(t *testing.T) {
	x := tensor.New([]int{2}, []float64{0.5, -0.5})
	cx := tensor.New([]int{2}, []float64{1, 1})
	peek := func(v *tape.Var) *tape.Var {
		y := ops.Tanh(v)
		if y.Value().Data()[0] > 0 { // reads an op's value: no structure without it
			return ops.Exp(y)
		}
		return y
	}
	if _, err := inverse.VIJP(peek, x, cx); !errors.Is(err, inverse.ErrValueDependent) {
		t.Errorf("value-dependent f: got %v", err)
	}
	calls := 0
	flaky := func(v *tape.Var) *tape.Var {
		calls++
		if calls == 1 {
			return ops.Exp(v)
		}
		return ops.Tanh(v)
	}
	if _, err := inverse.VIJP(flaky, x, cx); err == nil {
		t.Errorf("f recording different ops on its two runs: no error")
	}
	sum := func(v *tape.Var) *tape.Var { return ops.Sum(v) }
	if _, err := inverse.VIJP(sum, x, cx); !errors.Is(err, inverse.ErrSize) {
		t.Errorf("size mismatch: got %v", err)
	}
	mustPanic(t, "inverse: ", func() { inverse.VIJP(ops.Exp, x, tensor.Zeros(3)) })
}
