package ops

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/invad/invad/tape"
)

func TestDiagFactorLogDet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		name string
		d    []float64
	}{
		{"extremes", []float64{1e300, 1e300, -1e300, 1e-300, 1e-300, 5, -0.25, math.MaxFloat64, 1e-307}},
		{"parallel", func() []float64 { // above cpu.Grain, so chunks run on several goroutines
			d := make([]float64, 200_000)
			for i := range d {
				d[i] = math.Exp(20 * rng.NormFloat64())
			}
			return d
		}()},
	} {
		want := 0.0
		for _, v := range tc.d {
			want += math.Log(math.Abs(v))
		}
		orig := append([]float64(nil), tc.d...)
		f, err := newDiagFactor("test", 0, tc.d)
		if err != nil {
			t.Fatal(err)
		}
		// Summing logs and multiplying mantissas round differently: 1e-12 relative.
		if got := f.LogAbsDet(); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: log|det| = %.17g, want %.17g", tc.name, got, want)
		}
		x := make([]float64, len(orig))
		f.Solve(x, orig)
		for i, v := range x {
			if math.Abs(v-1) > 1e-15 {
				t.Fatalf("%s: diag(d)⁻¹ d = %g at %d, want 1", tc.name, v, i)
			}
		}
	}
	d := make([]float64, 100_000)
	for i := range d {
		d[i] = 1
	}
	d[70_000], d[80_000], d[90_000] = math.SmallestNonzeroFloat64, 0, math.NaN()
	_, err := newDiagFactor("test", 1, d)
	var se *tape.SingularError
	if !errors.As(err, &se) || se.Index != 70_000 || se.Input != 1 {
		t.Errorf("got %v, want the first bad index 70000", err)
	}
}

// TestRecipLogAbs checks the four-wide product against a log per entry, on
// runs that mix normal numbers, subnormals whose reciprocal is finite
// (taken one at a time) and extreme magnitudes, at every length mod 4; and
// that the first bad entry is found wherever it sits in a group of four.
func TestRecipLogAbs(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	// 0x1.8p-1023 is subnormal with 1/x ≈ 1.2e308, finite.
	pool := []float64{3, -0.5, 1e300, -1e-300, math.MaxFloat64, 0x1.8p-1023, 0x1p-1023, 1.5}
	for n := 0; n < 600; n += 1 + n/7 {
		d := make([]float64, n)
		for i := range d {
			if rng.IntN(5) == 0 {
				d[i] = pool[rng.IntN(len(pool))]
			} else {
				d[i] = math.Exp(30 * rng.NormFloat64())
			}
		}
		want := 0.0
		for _, v := range d {
			// Through Frexp: math.Log on amd64 is wrong for subnormal
			// numbers (math.Log(0x1.8p-1023) = -708.530, not -708.684).
			fr, e := math.Frexp(v)
			want += math.Log(math.Abs(fr)) + float64(e)*math.Ln2
		}
		orig := append([]float64(nil), d...)
		got, bad := recipLogAbs(d)
		// A log per entry and a mantissa product round differently: n·1e-15 relative.
		if bad != -1 || math.Abs(got-want) > float64(n+1)*1e-15*math.Max(1, math.Abs(want)) {
			t.Fatalf("n=%d: log|Π d| = %.17g (bad %d), want %.17g", n, got, bad, want)
		}
		for i, v := range d {
			if v != 1/orig[i] {
				t.Fatalf("n=%d: d[%d] = %g, want 1/%g", n, i, v, orig[i])
			}
		}
	}
	for _, b := range []float64{0, math.NaN(), math.Inf(-1), math.SmallestNonzeroFloat64} {
		for at := 0; at < 9; at++ {
			d := make([]float64, 9)
			for i := range d {
				d[i] = 2
			}
			d[at] = b
			if at+2 < len(d) {
				d[at+2] = 0 // a later bad entry must not be the one reported
			}
			if _, got := recipLogAbs(d); got != at {
				t.Errorf("bad %v at %d: reported %d", b, at, got)
			}
		}
	}
}

// TestDiagFactorLogDetParts checks the per-group mantissa products of a
// diagonal's log-det parts against a log per entry (through Frexp, as
// TestRecipLogAbs), on runs of extreme magnitudes and subnormal
// reciprocals in three groups, interleaved; dst is added to, and a group
// with no element keeps its value.
func TestDiagFactorLogDetParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	// |1/d| as diagFactor holds it: 5.6e-309 is a subnormal reciprocal of
	// d ≈ 1.8e308.
	pool := []float64{3, -0.5, 1e300, -1e-300, 0x1p-1023, 5.6e-309, math.MaxFloat64, 1.5}
	for n := 1; n < 3000; n += 1 + n/3 {
		inv := make([]float64, n)
		big := n%2 == 0 // runs of 1e±100, inside the range taken as is, whose products leave it
		for i := range inv {
			if big {
				inv[i] = math.Pow(1e100, float64(1-2*(i/40%2)))
			} else if rng.IntN(3) == 0 {
				inv[i] = pool[rng.IntN(len(pool))]
			} else {
				inv[i] = math.Exp(300 * rng.NormFloat64() / math.Sqrt(float64(n)))
			}
		}
		group := func(i int) int { return (i * 7) % 3 } // groups 0..2; group 3 empty
		want := []float64{1, 2, 3, 4}
		mass := make([]float64, 4) // Σ |log|1/d|| + count per group: the scale of the rounding
		for i, r := range inv {
			fr, e := math.Frexp(r)
			l := math.Log(math.Abs(fr)) + float64(e)*math.Ln2
			want[group(i)] -= l
			mass[group(i)] += math.Abs(l) + 1
		}
		dst := []float64{1, 2, 3, 4}
		f := &diagFactor{inv: inv}
		if !f.LogAbsDetParts(dst, group) {
			t.Fatal("a diagonal did not split")
		}
		for g := range dst {
			// A log per entry rounds each term (ε·|log|), the mantissa
			// product each factor (ε per element): 1e-15 per unit of mass.
			if math.Abs(dst[g]-want[g]) > 1e-15*(mass[g]+math.Abs(want[g])) {
				t.Errorf("n=%d group %d: %.17g, want %.17g", n, g, dst[g], want[g])
			}
		}
		if dst[3] != 4 {
			t.Errorf("n=%d: the empty group became %v, want 4", n, dst[3])
		}
	}
}

// TestPermFactorLogDetParts: a transpose whose input rows (or columns) are
// each in one group splits as zeros; one that mixes groups along both, or
// a permutation of three axes, reports false and leaves dst alone.
func TestPermFactorLogDetParts(t *testing.T) {
	f := &permFactor{op: &PermuteOp{Perm: []int{1, 0}}, in: []int{2, 3}} // input [2, 3]
	for _, tc := range []struct {
		name   string
		groups []int // per input element, row-major
		want   bool
	}{
		{"rows are samples", []int{0, 0, 0, 1, 1, 1}, true},
		{"columns are samples", []int{0, 1, 2, 0, 1, 2}, true},
		{"mixed", []int{0, 1, 0, 1, 0, 1}, false},
	} {
		dst := []float64{7, 7, 7}
		got := f.LogAbsDetParts(dst, func(i int) int { return tc.groups[i] })
		if got != tc.want || dst[0] != 7 || dst[1] != 7 || dst[2] != 7 {
			t.Errorf("%s: %v with dst %v, want %v and dst unchanged", tc.name, got, dst, tc.want)
		}
	}
	g := &permFactor{op: &PermuteOp{Perm: []int{0, 2, 1}}, in: []int{2, 2, 2}}
	if g.LogAbsDetParts(make([]float64, 2), func(i int) int { return i / 4 }) {
		t.Error("a permutation of three axes split into parts: want false")
	}
}
