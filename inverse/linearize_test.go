package inverse_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

func relErr(got, want []float64) float64 {
	num, den := 0.0, 0.0
	for i := range got {
		num = math.Max(num, math.Abs(got[i]-want[i]))
		den = math.Max(den, math.Abs(want[i]))
	}
	return num / math.Max(den, 1)
}

func randTensor(rng *rand.Rand, shape []int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = rng.NormFloat64()
	}
	return t
}

func TestJacobianAgainstFiniteDifferences(t *testing.T) {
	for _, p := range programs {
		t.Run(p.Name, func(t *testing.T) {
			x := point(p, 1)
			lin, err := inverse.Linearize(p.F, x)
			if err != nil {
				t.Fatalf("Linearize: %v (%s)", err, p.Reason)
			}
			if e := relErr(lin.Output().Data(), evalPlain(p.F, x)); e != 0 {
				t.Errorf("Output differs from a plain evaluation by %g", e)
			}
			J, err := lin.Jacobian()
			if err != nil {
				t.Fatal(err)
			}
			fd := fdJacobian(p.F, x)
			// Central differences with h = ε^(1/3) are accurate to about ε^(2/3) ≈ 4e-11
			// times the third derivative; 1e-6 leaves room for curvature.
			if e := relErr(J.Data(), fd); e > 1e-6 {
				t.Errorf("jacfwd vs finite differences: relative error %g (%s)", e, p.Reason)
			}
			Jr, err := lin.JacobianRev()
			if err != nil {
				t.Fatal(err)
			}
			// The forward and reverse Jacobians are the same sums in another order.
			if e := relErr(Jr.Data(), J.Data()); e > 1e-13 {
				t.Errorf("jacrev vs jacfwd: relative error %g", e)
			}
		})
	}
}

func TestJVPAndVJPAreLinearAndAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, p := range programs {
		t.Run(p.Name, func(t *testing.T) {
			x := point(p, 2)
			lin, err := inverse.Linearize(p.F, x)
			if err != nil {
				t.Fatal(err)
			}
			J, _ := lin.Jacobian()
			n := x.Len()
			v := randTensor(rng, x.Shape())
			c := randTensor(rng, lin.Output().Shape())
			vCopy, cCopy := v.Clone(), c.Clone()
			jv, err := lin.JVP(v)
			if err != nil {
				t.Fatal(err)
			}
			vj, err := lin.VJP(c)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]float64, n)
			wantT := make([]float64, n)
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					want[i] += J.Data()[i*n+j] * v.Data()[j]
					wantT[j] += J.Data()[i*n+j] * c.Data()[i]
				}
			}
			// Both sides are the same products summed in another order: rounding only.
			if e := relErr(jv.Data(), want); e > 1e-12 {
				t.Errorf("JVP vs J·v: %g", e)
			}
			if e := relErr(vj.Data(), wantT); e > 1e-12 {
				t.Errorf("VJP vs Jᵀ·c: %g", e)
			}
			if relErr(v.Data(), vCopy.Data()) != 0 || relErr(c.Data(), cCopy.Data()) != 0 {
				t.Errorf("arguments were modified")
			}
		})
	}
}

func TestConcurrentProducts(t *testing.T) {
	p := programs[5] // coupling
	x := point(p, 3)
	lin, err := inverse.Linearize(p.F, x)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	const calls = 64 // enough goroutines to overlap on every pooled workspace
	vs := make([]*tensor.Tensor, calls)
	want := make([][]float64, calls)
	for i := range vs {
		vs[i] = randTensor(rng, x.Shape())
		r, _ := lin.JVP(vs[i])
		want[i] = r.Data()
	}
	var wg sync.WaitGroup
	errs := make(chan string, calls)
	for i := range vs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := lin.JVP(vs[i])
			if err != nil || relErr(r.Data(), want[i]) != 0 {
				errs <- "JVP differs under concurrency"
			}
			if _, err := lin.VJP(vs[i]); err != nil {
				errs <- err.Error()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestLinearizeErrors(t *testing.T) {
	x := tensor.New([]int{3}, []float64{1, 2, 3})
	_, err := inverse.Linearize(func(x *tape.Var) *tape.Var { return ops.Sum(x) }, x)
	var se *inverse.SizeError
	if !errors.Is(err, inverse.ErrSize) || !errors.As(err, &se) {
		t.Fatalf("size mismatch: got %v, want ErrSize", err)
	}
	bad := tensor.New([]int{3}, []float64{1, math.NaN(), 3})
	if _, err := inverse.Linearize(func(x *tape.Var) *tape.Var { return x }, bad); !errors.Is(err, inverse.ErrNonFinite) {
		t.Fatalf("NaN in x: got %v", err)
	}
	neg := tensor.New([]int{3}, []float64{1, -2, 3})
	_, err = inverse.Linearize(func(x *tape.Var) *tape.Var { return ops.Exp(ops.Log(x)) }, neg)
	var nf *inverse.NonFiniteError
	if !errors.As(err, &nf) || nf.Op != "log" || nf.Pos != 0 || nf.Index != 1 {
		t.Fatalf("NaN from log: got %v, want the log op at position 0, index 1", err)
	}
	lin, err := inverse.Linearize(func(x *tape.Var) *tape.Var { return ops.Sin(x) }, x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lin.JVP(bad); !errors.Is(err, inverse.ErrNonFinite) {
		t.Errorf("NaN tangent: got %v", err)
	}
	mustPanic(t, "inverse: ", func() { lin.JVP(tensor.Zeros(4)) })
	mustPanic(t, "inverse: ", func() { lin.VJP(tensor.Zeros(3, 1)) })
	mustPanic(t, "inverse: ", func() { inverse.Linearize(func(*tape.Var) *tape.Var { return nil }, x) })
	mustPanic(t, "inverse: ", func() {
		other := tape.NewTape().Input(x)
		inverse.Linearize(func(*tape.Var) *tape.Var { return other }, x)
	})
}

func mustPanic(t *testing.T, prefix string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		s, _ := r.(string)
		if !strings.HasPrefix(s, prefix) {
			t.Errorf("panic %v, want a message starting with %q", r, prefix)
		}
	}()
	f()
}

func TestDeadCodeIsPruned(t *testing.T) {
	p := programs[8]
	lin, err := inverse.Linearize(p.F, point(p, 1))
	if err != nil {
		t.Fatal(err)
	}
	prog := lin.Program()
	// f records square, exp, log, add (dead) and add_scalar, sqrt (live).
	if len(prog.Nodes) != 2 || prog.Pruned != 4 {
		t.Errorf("kept %d ops and pruned %d, want 2 and 4", len(prog.Nodes), prog.Pruned)
	}
	// Held: x, x+1 and the output, 5 float64 each.
	if got := lin.TapeBytes(); got != 3*5*8 {
		t.Errorf("TapeBytes = %d, want %d", got, 3*5*8)
	}
}

func TestDenseJacobianLimit(t *testing.T) {
	x := tensor.Zeros(100)
	lin, err := inverse.Linearize(func(x *tape.Var) *tape.Var { return ops.Sin(x) }, x)
	if err != nil {
		t.Fatal(err)
	}
	old := inverse.MaxDenseElements
	defer func() { inverse.MaxDenseElements = old }()
	inverse.MaxDenseElements = 100*100 - 1 // one element short of a 100×100 matrix
	if _, err := lin.Jacobian(); !errors.Is(err, inverse.ErrTooLarge) {
		t.Errorf("Jacobian past the limit: got %v, want ErrTooLarge", err)
	}
	if _, err := lin.JacobianRev(); !errors.Is(err, inverse.ErrTooLarge) {
		t.Errorf("JacobianRev past the limit: got %v, want ErrTooLarge", err)
	}
}

// TestSweepsReuseBuffers checks that steady-state products allocate their
// result and little else: the sweep buffers come from the pool.
func TestSweepsReuseBuffers(t *testing.T) {
	const n = 100_000 // 800 KB a value, so a stray per-op buffer would show
	x := tensor.Zeros(n)
	v := tensor.Zeros(n)
	for i := range x.Data() {
		x.Data()[i] = float64(i%7) / 7
		v.Data()[i] = 1
	}
	f := func(x *tape.Var) *tape.Var {
		return ops.Log(ops.AddScalar(ops.Square(ops.Sigmoid(ops.Add(ops.Tanh(ops.Mul(ops.Exp(ops.Scale(ops.Sin(x), 0.5)), x)), x))), 1))
	}
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func() (*tensor.Tensor, error)
	}{{"JVP", func() (*tensor.Tensor, error) { return lin.JVP(v) }}, {"VJP", func() (*tensor.Tensor, error) { return lin.VJP(v) }}} {
		tc.call() // warm the pool
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		const calls = 5
		for range calls {
			if _, err := tc.call(); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		per := float64(after.TotalAlloc-before.TotalAlloc) / calls
		// The result is 8n bytes; allow 64 KB for closures and headers, far
		// below one more 8n-byte buffer per op (10 ops would be 8 MB).
		if limit := float64(8*n + 64<<10); per > limit {
			t.Errorf("%s allocates %.0f bytes a call, want at most %.0f", tc.name, per, limit)
		}
	}
}

// TestJacobianOnWideConcatIsRaceFree: a Concat of five inputs gets a
// node input slice with spare capacity; building sweep buffers from
// several goroutines must not write into it (run under -race).
func TestJacobianOnWideConcatIsRaceFree(t *testing.T) {
	f := func(x *tape.Var) *tape.Var {
		for range 20 {
			p := ops.Split(x, 2, 2, 2, 2, 2)
			x = ops.Add(ops.Concat(p[4], p[3], p[2], p[1], p[0]), ops.Scale(ops.Sin(x), 0.1))
		}
		return x
	}
	x := tensor.New([]int{10}, []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1})
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	J, err := lin.Jacobian()
	if err != nil {
		t.Fatal(err)
	}
	Jr, err := lin.JacobianRev()
	if err != nil {
		t.Fatal(err)
	}
	// The same products summed in another order.
	if e := relErr(J.Data(), Jr.Data()); e > 1e-13 {
		t.Errorf("jacfwd vs jacrev: %g", e)
	}
}
