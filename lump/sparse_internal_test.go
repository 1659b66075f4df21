package lump

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/sparse"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// elementPattern is the pattern of a sparse lump's block built element by
// element (every row's columns from its sources' rows, one at a time): the
// reference blockPattern's ranges must reproduce.
func (a *Analysis) elementPattern(l *Lump) (*sparse.Pattern, bool) {
	n := l.Width
	if n >= math.MaxInt32 {
		return nil, false
	}
	maxNNZ := int64(sparseMaxFill)*int64(n) + 1024
	col := make(map[int]int, len(l.Killed)) // killed atom → its first column
	c := 0
	for _, k := range l.Killed {
		col[k] = c
		c += a.Atoms[k].Len
	}
	// The internal atoms' rows of killed columns, in one CSR of 32-bit
	// indices (the columns are < n < 2³¹), presized: the appends were most
	// of the cost.
	internalRows := 0
	for _, q := range l.Internal {
		internalRows += a.Eqs[q].Len
	}
	first := map[int]int{} // internal atom → its first row in ptr
	ptr := make([]int32, 1, internalRows+1)
	idx := make([]int32, 0, 3*internalRows)
	// The created rows' pattern, built in CSR form directly: the rows come
	// in order, each sorted and without repeats.
	rowPtr, cols := make([]int, 1, n+1), make([]int, 0, 3*n)
	var row []int32
	total := int64(0)
	// source resolves a run once: killed (its first column), internal (its
	// first row in ptr) or known (nothing).
	type source struct {
		r0, n int
		kind  int8 // 0 known, 1 killed, 2 internal
		base  int
	}
	var srcs [][]source
	var cur []int
	prepare := func(eq *Eq) {
		rs := a.runs(eq)
		srcs, cur = srcs[:0], cur[:0]
		for _, in := range rs {
			ss := make([]source, len(in))
			for j, x := range in {
				ss[j] = source{r0: x.r0, n: x.n}
				if c, ok := col[x.atom]; ok {
					ss[j].kind, ss[j].base = 1, c+x.e0
				} else if f, ok := first[x.atom]; ok {
					ss[j].kind, ss[j].base = 2, f+x.e0
				}
			}
			srcs, cur = append(srcs, ss), append(cur, 0)
		}
	}
	// emit gathers row r's columns; rows come in increasing order, so each
	// input's runs are walked once.
	emit := func(r int) {
		row = row[:0]
		for i, ss := range srcs {
			j := cur[i]
			for j < len(ss) && r >= ss[j].r0+ss[j].n {
				j++
			}
			cur[i] = j
			if j == len(ss) || r < ss[j].r0 {
				continue
			}
			x := &ss[j]
			e := x.base + r - x.r0
			switch x.kind {
			case 1:
				row = append(row, int32(e))
			case 2:
				row = append(row, idx[ptr[e]:ptr[e+1]]...)
			}
		}
		if len(row) > 1 {
			slices.Sort(row)
			row = slices.Compact(row)
		}
	}
	for _, q := range l.Internal {
		a.tick()
		eq := &a.Eqs[q]
		prepare(eq)
		first[eq.Self] = len(ptr) - 1
		for r := range eq.Len {
			emit(r)
			if total += int64(len(row)); total > maxNNZ {
				return nil, false
			}
			idx = append(idx, row...)
			ptr = append(ptr, int32(len(idx)))
		}
	}
	for _, q := range l.Created {
		a.tick()
		eq := &a.Eqs[q]
		prepare(eq)
		for r := range eq.Len {
			emit(r)
			if total += int64(len(row)); total > maxNNZ {
				return nil, false
			}
			for _, c := range row {
				cols = append(cols, int(c))
			}
			rowPtr = append(rowPtr, len(cols))
		}
	}
	return &sparse.Pattern{N: n, RowPtr: rowPtr, Col: cols}, true
}

// TestBlockPatternByRanges: the range-by-range pattern of every sparse
// lump equals the element-by-element one, on stencils with shifts of
// several lengths, cyclic ones, masks, compositions of shifts through
// nonlinear ops, and windows that cover part of a value.
func TestBlockPatternByRanges(t *testing.T) {
	shift := func(v *tape.Var, k int) *tape.Var {
		n := v.Len()
		zero := ops.Const(v, tensor.Zeros(max(k, -k)))
		if k > 0 {
			return ops.Concat(zero, ops.Slice(v, 0, n-k))
		}
		return ops.Concat(ops.Slice(v, -k, n), zero)
	}
	roll := func(v *tape.Var, k int) *tape.Var {
		n := v.Len()
		return ops.Concat(ops.Slice(v, k, n), ops.Slice(v, 0, k))
	}
	mask := func(v *tape.Var, period int) *tape.Var {
		m := tensor.Zeros(v.Len())
		for i := range m.Data() {
			if i%period != 0 {
				m.Data()[i] = 1
			}
		}
		return ops.Mul(ops.Const(v, m), v)
	}
	for _, c := range []struct {
		name string
		n    int
		f    func(*tape.Var) *tape.Var
	}{
		{"bratu", 3000, func(u *tape.Var) *tape.Var {
			return ops.Add(ops.Sub(ops.Add(shift(u, 1), shift(u, -1)), ops.Scale(u, 2)), ops.Exp(u))
		}},
		{"roll", 3000, func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Scale(roll(x, 1), 0.5)) }},
		{"roll∘tanh", 3000, func(x *tape.Var) *tape.Var { return ops.Add(x, ops.Scale(roll(ops.Tanh(x), 7), 0.5)) }},
		{"masked grid", 40 * 40, func(u *tape.Var) *tape.Var {
			lap := ops.Add(ops.Add(mask(shift(u, 1), 40), shift(u, -1)), ops.Add(shift(u, 40), shift(u, -40)))
			return ops.Add(ops.Sub(lap, ops.Scale(u, 4)), ops.Exp(u))
		}},
		{"shifts composed", 2500, func(u *tape.Var) *tape.Var {
			a := ops.Tanh(shift(shift(u, 2), -5))
			b := ops.Mul(shift(a, 1), ops.Sin(shift(u, 3)))
			return ops.Add(ops.Add(u, ops.Scale(b, 0.1)), ops.Scale(shift(a, -4), 0.2))
		}},
		{"window", 2000, func(u *tape.Var) *tape.Var {
			n := u.Len()
			mid := ops.Concat(ops.Slice(u, 0, 500), ops.Tanh(ops.Slice(shift(u, 3), 500, 1500)), ops.Slice(u, 1500, n))
			return ops.Add(u, ops.Scale(roll(mid, 2), 0.3))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tp := tape.NewTape()
			x := tp.Input(tensor.Zeros(c.n))
			p := tp.Finish(x, c.f(x))
			an, err := AnalyzeLimits(p, Limits{Width: 1 << 30, Bytes: 1 << 62})
			if err != nil {
				t.Fatal(err)
			}
			found := 0
			for i := range an.Lumps {
				l := &an.Lumps[i]
				if l.Kind != Sparse {
					continue
				}
				found++
				want, ok := an.elementPattern(l)
				if !ok {
					t.Fatalf("lump %d: the element-by-element pattern refused it", i)
				}
				got := l.Sparse.Pattern
				if !slices.Equal(got.RowPtr, want.RowPtr) || !slices.Equal(got.Col, want.Col) {
					t.Fatalf("lump %d: patterns differ: %d and %d nonzeros%s", i, got.NNZ(), want.NNZ(), firstDiff(got, want))
				}
				// The coloring is valid: no row has two columns of one color.
				for r := range got.N {
					seen := map[int]int{}
					for _, j := range got.Col[got.RowPtr[r]:got.RowPtr[r+1]] {
						c := l.Sparse.Color[j]
						if k, dup := seen[c]; dup {
							t.Fatalf("lump %d: row %d has columns %d and %d of color %d", i, r, k, j, c)
						}
						seen[c] = j
					}
				}
			}
			if found == 0 {
				t.Fatal("no sparse lump")
			}
		})
	}
}

func firstDiff(a, b *sparse.Pattern) string {
	for i := range a.N {
		ra, rb := a.Col[a.RowPtr[i]:a.RowPtr[i+1]], b.Col[b.RowPtr[i]:b.RowPtr[i+1]]
		if !slices.Equal(ra, rb) {
			return fmt.Sprintf("; row %d: %v, want %v", i, ra, rb)
		}
	}
	return ""
}
