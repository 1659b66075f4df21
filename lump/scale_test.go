package lump_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// rollProgram is x + 0.5·roll(x) on n elements: a cyclic stencil written
// with Slice and Concat, one atom per element.
func rollProgram(n int) *tape.Program {
	tp := tape.NewTape()
	x := tp.Input(tensor.Zeros(n))
	r := ops.Concat(ops.Slice(x, 1, n), ops.Slice(x, 0, 1))
	return tp.Finish(x, ops.Add(x, ops.Scale(r, 0.5)))
}

// bratuProgram is the 1-D Bratu residual of the catalogue (the neighbours
// as shifts) on n interior points.
func bratuProgram(n int) *tape.Program {
	tp := tape.NewTape()
	u := tp.Input(tensor.Zeros(n))
	return tp.Finish(u, catalog.Bratu1D(1)(u))
}

// reversedProgram is x + 0.5·reverse(x), the reversal written as n
// one-element slices concatenated backwards: n atoms, from structural cuts
// alone, and a slow analysis at large n.
func reversedProgram(n int) *tape.Program {
	tp := tape.NewTape()
	x := tp.Input(tensor.Zeros(n))
	parts := make([]*tape.Var, n)
	for i := range n {
		parts[n-1-i] = ops.Slice(x, i, i+1)
	}
	return tp.Finish(x, ops.Add(x, ops.Scale(ops.Concat(parts...), 0.5)))
}

var noLimits = lump.Limits{Width: 1 << 30, Bytes: 1 << 62}

// TestAnalyzeStencilLumps: each stencil is one sparse lump of width n (its
// block is irreducible), whose pattern, coloring and band follow from the
// shifts: bratu's block is tridiagonal (3 colors, band 1+1 in natural
// order), roll's is x + 0.5·x shifted cyclically (2 nonzeros a row, band
// 2+2 or less after reverse Cuthill–McKee). The default limits accept them: a
// sparse lump is bounded by its memory, not its width.
func TestAnalyzeStencilLumps(t *testing.T) {
	const n = 10000
	for _, c := range []struct {
		name        string
		p           *tape.Program
		nnz, colors int
		maxBand     int
		perm        bool
	}{
		{"roll", rollProgram(n), 2 * n, 2, 4, true},
		{"bratu", bratuProgram(n), 3*n - 2, 3, 2, false},
	} {
		an, err := lump.Analyze(c.p, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var wide []lump.Lump
		at := -1
		for i, l := range an.Lumps {
			if l.Width > 1 {
				wide, at = append(wide, l), i
			}
		}
		if len(wide) != 1 || wide[0].Width != n || wide[0].Kind != lump.Sparse {
			t.Fatalf("%s: lumps wider than 1: %d, want one sparse lump of width %d", c.name, len(wide), n)
		}
		sb := wide[0].Sparse
		if got := sb.Pattern.NNZ(); got != c.nnz {
			t.Errorf("%s: %d nonzeros, want %d", c.name, got, c.nnz)
		}
		if sb.Colors != c.colors || sb.KL+sb.KU > c.maxBand || (sb.Perm != nil) != c.perm {
			t.Errorf("%s: %d colors, band %d+%d, reordered %v; want %d colors, band ≤ %d, reordered %v",
				c.name, sb.Colors, sb.KL, sb.KU, sb.Perm != nil, c.colors, c.maxBand, c.perm)
		}
		t.Logf("%s: %s", c.name, an.Structure(at))
	}
}

// TestAnalyzeContext: a done context stops the analysis with its error, and
// a live one changes nothing.
func TestAnalyzeContext(t *testing.T) {
	p := reversedProgram(200000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if an, err := lump.AnalyzeContext(ctx, p, noLimits); an != nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled before: %v, %v; want nil, context.Canceled", an, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	an, err := lump.AnalyzeContext(ctx, p, noLimits)
	if an != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %v, %v; want nil, context.DeadlineExceeded", an, err)
	}
	t.Logf("returned %v after the start", time.Since(start))
	small := bratuProgram(50)
	a1, err1 := lump.AnalyzeContext(context.Background(), small, noLimits)
	a2, err2 := lump.AnalyzeLimits(small, noLimits)
	if err1 != nil || err2 != nil || len(a1.Lumps) != len(a2.Lumps) || len(a1.Atoms) != len(a2.Atoms) {
		t.Fatalf("live context: %v %v, lumps %d and %d", err1, err2, len(a1.Lumps), len(a2.Lumps))
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("a nil context did not panic")
		}
	}()
	var none context.Context
	lump.AnalyzeContext(none, small, noLimits)
}

// BenchmarkAnalyzeStencil shows how the analysis grows with n on the two
// stencils (one atom per element): roughly linearly.
func BenchmarkAnalyzeStencil(b *testing.B) {
	for _, c := range []struct {
		name string
		prog func(int) *tape.Program
	}{{"roll", rollProgram}, {"bratu", bratuProgram}} {
		for _, n := range []int{10000, 100000, 1000000} {
			p := c.prog(n)
			b.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(b *testing.B) {
				for b.Loop() {
					if _, err := lump.AnalyzeLimits(p, noLimits); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
