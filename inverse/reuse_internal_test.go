package inverse

import (
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestReuse: a Linearization of the same program at another point takes
// the plan of the one it reuses, and its products are bit for bit those of
// a fresh Linearization; a program that differs in an op's parameter, or
// other limits, builds its own plan.
func TestReuse(t *testing.T) {
	const n = 300
	stencil := func(c float64) func(*tape.Var) *tape.Var {
		return func(u *tape.Var) *tape.Var {
			zero := ops.Const(u, tensor.Zeros(1))
			left := ops.Concat(zero, ops.Slice(u, 0, n-1))
			right := ops.Concat(ops.Slice(u, 1, n), zero)
			return ops.Add(ops.Scale(ops.Add(left, right), c), ops.Exp(ops.Scale(u, 3)))
		}
	}
	point := func(s float64) *tensor.Tensor {
		x := tensor.Zeros(n)
		for i := range x.Data() {
			x.Data()[i] = 0.1 * math.Sin(s*float64(i))
		}
		return x
	}
	first, err := Linearize(stencil(0.5), point(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		f     func(*tape.Var) *tape.Var
		opts  []Option
		reuse bool
	}{
		{"same program", stencil(0.5), nil, true},
		{"another parameter", stencil(0.25), nil, false},
		{"other limits", stencil(0.5), []Option{MaxLumpBytes(1 << 40)}, false},
	} {
		x := point(2)
		lin, err := Linearize(c.f, x, append(c.opts, Reuse(first))...)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := Linearize(c.f, x, c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		dy := point(3)
		for _, pr := range []struct {
			name       string
			got, fresh func(*tensor.Tensor) (*tensor.Tensor, error)
		}{{"IJVP", lin.IJVP, fresh.IJVP}, {"VIJP", lin.VIJP, fresh.VIJP}} {
			a, err1 := pr.got(dy)
			b, err2 := pr.fresh(dy)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s %s: %v, %v", c.name, pr.name, err1, err2)
			}
			for i := range a.Data() {
				if math.Float64bits(a.Data()[i]) != math.Float64bits(b.Data()[i]) {
					t.Fatalf("%s %s: element %d %v, fresh %v", c.name, pr.name, i, a.Data()[i], b.Data()[i])
				}
			}
		}
		ld1, _ := lin.LogAbsDet()
		ld2, _ := fresh.LogAbsDet()
		if ld1 != ld2 {
			t.Errorf("%s: log|det J| %v, fresh %v", c.name, ld1, ld2)
		}
		if got := lin.inv.P == first.inv.P; got != c.reuse {
			t.Errorf("%s: plan reused %v, want %v", c.name, got, c.reuse)
		}
		if lin.reuse != nil {
			t.Errorf("%s: the Linearization keeps a reference to the one it reused", c.name)
		}
	}
}

// TestRelease: a released Linearization keeps only what Reuse takes. A
// chain of Linearizations, each reusing the one before and released once
// the next is made, gives products bit for bit those of fresh ones; the
// released ones hold no tape values, factors or engine (the plan that all
// share is the first's, and its values go with the first's Release), and
// every product on them panics.
func TestRelease(t *testing.T) {
	const n = 200
	f, point := cumsumProgram(n)
	dy := point(0.3)
	var prev *Linearization
	var chain []*Linearization
	for k := range 4 {
		x := point(1 + float64(k))
		lin, err := Linearize(f, x, Reuse(prev))
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil {
			prev.Release()
			prev.Release() // twice does nothing
		}
		fresh, err := Linearize(f, x)
		if err != nil {
			t.Fatal(err)
		}
		a, err1 := lin.IJVP(dy)
		b, err2 := fresh.IJVP(dy)
		if err1 != nil || err2 != nil {
			t.Fatalf("step %d: %v, %v", k, err1, err2)
		}
		for i := range a.Data() {
			if math.Float64bits(a.Data()[i]) != math.Float64bits(b.Data()[i]) {
				t.Fatalf("step %d: element %d %v, fresh %v", k, i, a.Data()[i], b.Data()[i])
			}
		}
		if k > 0 && lin.inv.P != chain[0].inv.P {
			t.Errorf("step %d: the plan was not reused across a Release", k)
		}
		chain = append(chain, lin)
		prev = lin
	}
	// The last one's Exec, its factors and engine, goes with its Release:
	// its idle workspaces no longer point to it.
	last := chain[len(chain)-1]
	freed := make(chan struct{})
	runtime.SetFinalizer(last.inv, func(*cpuExec) { close(freed) })
	last.Release()
	collected := false
	for range 10 {
		runtime.GC()
		select {
		case <-freed:
			collected = true
		case <-time.After(10 * time.Millisecond):
		}
		if collected {
			break
		}
	}
	if !collected {
		t.Error("the Exec of a released Linearization stays reachable")
	}
	for k, l := range chain {
		if l.Output() != nil || l.Input() != nil {
			t.Errorf("Linearization %d: Output or Input still set after Release", k)
		}
		for _, nd := range l.prog.Nodes {
			if nd.Out.Value() != nil {
				t.Errorf("Linearization %d: %s@%d keeps its value after Release", k, nd.Op.Name(), nd.Pos)
			}
		}
		if l.inv.F != nil || l.inv.E != nil {
			t.Errorf("Linearization %d: factors or engine kept after Release", k)
		}
	}
	// The first's program is the shared plan's: structure only now.
	if v := chain[0].inv.P.An.Prog.Output.Value(); v != nil {
		t.Error("the shared plan's program keeps its values after the first Linearization's Release")
	}
	for _, c := range []struct {
		name string
		call func(l *Linearization)
	}{
		{"IJVP", func(l *Linearization) { l.IJVP(dy) }},
		{"IJVPTo", func(l *Linearization) { l.IJVPTo(tensor.Zeros(n), dy) }},
		{"VIJP", func(l *Linearization) { l.VIJP(dy) }},
		{"JVP", func(l *Linearization) { l.JVP(dy) }},
		{"VJP", func(l *Linearization) { l.VJP(dy) }},
		{"Jacobian", func(l *Linearization) { l.Jacobian() }},
		{"LogAbsDet", func(l *Linearization) { l.LogAbsDet() }},
		{"Lumps", func(l *Linearization) { l.Lumps() }},
		{"Prepare", func(l *Linearization) { l.Prepare(t.Context()) }},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s on a released Linearization did not panic", c.name)
				} else if s, ok := r.(string); !ok || !strings.HasPrefix(s, "inverse: ") {
					t.Errorf("%s on a released Linearization panicked with %v", c.name, r)
				}
			}()
			c.call(chain[0])
		}()
	}
}

// TestIJVPBuffersOfAChain: the IJVP gives a value's unknowns buffer back
// to the workspace once no later lump reads it, and skips the internal
// values that only lead to a solved lump (sin x in x + 0.5·sin x): on a
// chain of 15 values it holds 2 buffers of n, not one per value, and still
// solves J·dx = dy.
func TestIJVPBuffersOfAChain(t *testing.T) {
	const n, depth = 500, 6
	f := func(x *tape.Var) *tape.Var {
		v := ops.Add(x, ops.Scale(ops.Sin(x), 0.5))
		for range depth {
			v = ops.Exp(ops.Scale(v, 0.1))
		}
		return ops.Cumsum(ops.LeakyReLU(v, 0.1))
	}
	x := tensor.Zeros(n)
	for i := range x.Data() {
		x.Data()[i] = math.Sin(float64(i))
	}
	l, err := Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	dy := tensor.Zeros(n)
	for i := range dy.Data() {
		dy.Data()[i] = math.Cos(float64(i))
	}
	dx, err := l.IJVP(dy)
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.JVP(dx)
	if err != nil {
		t.Fatal(err)
	}
	// J is well conditioned here (diagonals within [0.05, 3], a running
	// sum): the residual is a few ulps of ‖dy‖ times n.
	if d := maxAbsDiff(r.Data(), dy.Data()); d > 1e-10 {
		t.Errorf("‖J·IJVP(dy) − dy‖∞ = %g", d)
	}
	w, ok := l.invIdle.Get()
	if !ok {
		t.Fatal("no idle workspace after the IJVP")
	}
	// x's buffer and the one the lumps hand on; 2·depth + 5 values before.
	if held := w.Bytes + w.FreeBytes; held > 2*n*8 {
		t.Errorf("the IJVP's workspace holds %d bytes of unknowns, %.1f vectors of n", held, float64(held)/(8*n))
	}
	// A Linearization reusing l factorizes with l's idle workspace for
	// scratch (sweep.FactorizeWith) and leaves it as it found it: after its
	// IJVP, the same workspace holds the same buffers.
	l.putInvWS(w)
	held := w.Bytes + w.FreeBytes
	x2 := tensor.Zeros(n)
	for i := range x2.Data() {
		x2.Data()[i] = math.Cos(float64(i))
	}
	l2, err := Linearize(f, x2, Reuse(l))
	if err != nil {
		t.Fatal(err)
	}
	if err := l2.Prepare(t.Context()); err != nil {
		t.Fatal(err)
	}
	if w.Bytes+w.FreeBytes != held {
		t.Errorf("after the factorization the workspace holds %d bytes of unknowns, %d before", w.Bytes+w.FreeBytes, held)
	}
	if _, err := l2.IJVP(dy); err != nil {
		t.Fatal(err)
	}
	w2, _ := l2.invIdle.Get()
	if w2 != w || w.Bytes+w.FreeBytes != held {
		t.Errorf("the reusing IJVP's workspace: the reused one %v, %d bytes of unknowns, %d before", w2 == w, w.Bytes+w.FreeBytes, held)
	}
}

// cumsumProgram is a step lump (leaky relu of x + sin(x)/2) feeding a
// running sum, on x of n elements, and its points sin(s·(i+1)).
func cumsumProgram(n int) (func(*tape.Var) *tape.Var, func(s float64) *tensor.Tensor) {
	f := func(x *tape.Var) *tape.Var {
		return ops.Cumsum(ops.LeakyReLU(ops.Add(x, ops.Scale(ops.Sin(x), 0.5)), 0.1))
	}
	point := func(s float64) *tensor.Tensor {
		x := tensor.Zeros(n)
		for i := range x.Data() {
			x.Data()[i] = math.Sin(s * float64(i+1))
		}
		return x
	}
	return f, point
}

func maxAbsDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// TestFactorizeWithIdleBuffers: a Linearization reusing one with an idle
// product workspace factorizes with that workspace's buffers for scratch,
// and so allocates at least two vectors of n less (the block and the
// extraction's JVP buffer) than one whose predecessor has none.
func TestFactorizeWithIdleBuffers(t *testing.T) {
	const n = 20000
	f, point := cumsumProgram(n)
	prepared := func(withIdle bool) uint64 {
		prev, err := Linearize(f, point(1))
		if err != nil {
			t.Fatal(err)
		}
		if err := prev.Prepare(t.Context()); err != nil {
			t.Fatal(err)
		}
		if withIdle {
			if _, err := prev.IJVP(point(2)); err != nil {
				t.Fatal(err)
			}
		}
		l, err := Linearize(f, point(3), Reuse(prev))
		if err != nil {
			t.Fatal(err)
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		if err := l.Prepare(t.Context()); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	with, without := prepared(true), prepared(false)
	if with+2*n*8 > without {
		t.Errorf("the factorization allocated %d bytes with an idle workspace, %d without", with, without)
	}
}

// TestIJVPReleasedBuffersPoisoned: the IJVP takes the buffers an earlier
// product released as they are, not zeroed, for the values its lumps write
// whole before reading (sweep.Plan's written); the others it zeroes. With
// every released buffer filled with NaN, a second IJVP on every program of
// the catalogue gives the first one's result bit for bit.
func TestIJVPReleasedBuffersPoisoned(t *testing.T) {
	for _, p := range catalog.All() {
		if p.Singular {
			continue
		}
		x := p.Point(1)
		l, err := Linearize(p.F, x)
		if err != nil {
			continue // a program for the error tests
		}
		dy := catalog.Uniform(l.prog.Output.Shape(), -1, 1, 2)
		r1, err := l.IJVP(dy)
		if err != nil {
			continue // singular at the point, or another error test
		}
		w, ok := l.invIdle.Get()
		if !ok {
			t.Fatalf("%s: no idle workspace", p.Name)
		}
		lens := map[int]bool{l.prog.Input.Len(): true}
		for _, nd := range l.prog.Nodes {
			lens[nd.Out.Len()] = true
		}
		var taken []*tensor.Tensor
		for n := range lens {
			for w.FreeBytes > 0 {
				before := w.FreeBytes
				v := w.Take(n)
				if w.FreeBytes == before { // a new one: none of n is left
					break
				}
				for i := range v.Data() {
					v.Data()[i] = math.NaN()
				}
				taken = append(taken, v)
			}
		}
		for _, v := range taken {
			w.Release(v, v.Len())
		}
		l.putInvWS(w)
		r2, err := l.IJVP(dy)
		if err != nil {
			t.Errorf("%s: with the released buffers poisoned: %v", p.Name, err)
			continue
		}
		for i := range r1.Data() {
			if math.Float64bits(r1.Data()[i]) != math.Float64bits(r2.Data()[i]) {
				t.Errorf("%s: element %d %v, first %v", p.Name, i, r2.Data()[i], r1.Data()[i])
				break
			}
		}
	}
}
