package inverse_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/invad/invad/inverse"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestPrepareContext: Prepare returns the context's error when it is done
// (during a long analysis too: a reversal written as one-element slices,
// one atom per element), keeps nothing, and a later Prepare or
// product starts over and gives the same answers as a fresh linearization.
func TestPrepareContext(t *testing.T) {
	reversed := func(x *tape.Var) *tape.Var {
		n := x.Len()
		parts := make([]*tape.Var, n)
		for i := range n {
			parts[n-1-i] = ops.Slice(x, i, i+1)
		}
		return ops.Add(x, ops.Scale(ops.Concat(parts...), 0.5))
	}
	big, err := inverse.Linearize(reversed, tensor.Zeros(200000))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := big.Prepare(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Prepare over a long analysis: %v, want context.DeadlineExceeded", err)
	}

	const n = 64
	x := tensor.Zeros(n)
	for i := range x.Data() {
		x.Data()[i] = float64(i%7) / 7
	}
	f := func(x *tape.Var) *tape.Var { return roll(ops.Tanh(x)) }
	lin, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	if err := lin.Prepare(done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Prepare with a cancelled context: %v", err)
	}
	if err := lin.Prepare(context.Background()); err != nil {
		t.Fatalf("Prepare after a cancelled one: %v", err)
	}
	if err := lin.Prepare(done); err != nil {
		t.Fatalf("Prepare once prepared must return at once whatever ctx: %v", err)
	}
	fresh, err := inverse.Linearize(f, x)
	if err != nil {
		t.Fatal(err)
	}
	dy := tensor.Zeros(n)
	dy.Data()[3] = 1
	got, err1 := lin.IJVP(dy)
	want, err2 := fresh.IJVP(dy)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	for i := range want.Data() {
		if got.Data()[i] != want.Data()[i] {
			t.Fatalf("IJVP after a cancelled Prepare differs at %d: %g, %g", i, got.Data()[i], want.Data()[i])
		}
	}
	// And the answer solves J dx = dy.
	back, err := lin.JVP(got)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range back.Data() {
		if d := v - dy.Data()[i]; d > 1e-12 || d < -1e-12 {
			t.Fatalf("J·IJVP(dy) − dy = %g at %d", d, i)
		}
	}
}

// TestPrepareContextInsideALump: a done context stops the forming of one
// wide dense lump between its columns (x + 0.1·tanh(W·x) with a dense W:
// 1500 JVPs through a 1500×1500 product), not only between lumps.
func TestPrepareContextInsideALump(t *testing.T) {
	const n = 1500
	w := tensor.Zeros(n, n)
	for i := range w.Data() {
		w.Data()[i] = math.Sin(float64(i)) / n
	}
	f := func(x *tape.Var) *tape.Var {
		return ops.Add(x, ops.Scale(ops.Tanh(ops.MatMul(ops.Const(x, w), x)), 0.1))
	}
	lin, err := inverse.Linearize(f, tensor.Zeros(n))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := lin.Prepare(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Prepare: %v, want context.DeadlineExceeded", err)
	}
	t.Logf("returned %v after the start", time.Since(start))
}
