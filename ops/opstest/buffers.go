package opstest

import (
	"fmt"
	"math"

	"github.com/invad/invad/tensor"
)

// guardLen is the number of NaN elements kept past len, within cap, of every
// buffer the suite hands to an op: enough to catch an off-by-a-few write or a
// write through the slice's capacity.
const guardLen = 8

// guard is the spare capacity of one buffer.
type guard struct {
	what string
	// bad returns the index of the first guard element that is no longer
	// NaN, or -1.
	bad func() int
}

// guarded returns a tensor of the given shape whose data is the first n
// elements of a slice with guardLen more elements of capacity, set to NaN;
// fill gives the n elements. The guard is recorded in gs.
func guarded[T tensor.Float](gs *[]guard, what string, shape []int, fill func(i int) T) *tensor.Dense[T] {
	n := tensor.SizeOf(shape)
	full := make([]T, n+guardLen)
	for i := range full {
		if i < n {
			full[i] = fill(i)
		} else {
			full[i] = T(math.NaN())
		}
	}
	*gs = append(*gs, guard{what: what, bad: func() int {
		for i, v := range full[n:] {
			if !math.IsNaN(float64(v)) {
				return i
			}
		}
		return -1
	}})
	return tensor.NewOf(shape, full[:n])
}

// watched is a tensor a rule must leave unchanged, with its name and a copy
// of its elements taken before the call.
type watched[T tensor.Float] struct {
	what string
	t    *tensor.Dense[T]
	was  []T
}

func watch[T tensor.Float](what string, ts ...*tensor.Dense[T]) []watched[T] {
	w := make([]watched[T], 0, len(ts))
	for i, t := range ts {
		if t == nil {
			continue
		}
		name := what
		if len(ts) > 1 {
			name = fmt.Sprintf("%s[%d]", what, i)
		}
		w = append(w, watched[T]{what: name, t: t, was: append([]T(nil), t.Data()...)})
	}
	return w
}

// changed returns a description of each watched tensor whose elements differ
// bitwise from the copy (NaN compared as a bit pattern).
func changed[T tensor.Float](ws []watched[T]) []string {
	var msgs []string
	for _, w := range ws {
		for i, v := range w.t.Data() {
			if math.Float64bits(float64(v)) != math.Float64bits(float64(w.was[i])) {
				msgs = append(msgs, fmt.Sprintf("%s changed at %d: %g, was %g", w.what, i, v, w.was[i]))
				break
			}
		}
	}
	return msgs
}

// mismatch compares got with want elementwise, accepting
// |got - want| ≤ tol·(1 + |want|), and describes the first mismatch and
// their number, or returns "".
func mismatch(got, want []float64, tol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d elements, want %d", len(got), len(want))
	}
	bad, first := 0, -1
	for i := range got {
		if !(math.Abs(got[i]-want[i]) <= tol*(1+math.Abs(want[i]))) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d elements off (tolerance %g); first at %d: got %g, want %g", bad, len(got), tol, first, got[first], want[first])
}

// dot returns Σ a_k b_k and Σ |a_k b_k|.
func dot(a, b []float64) (s, abs float64) {
	for i := range a {
		p := a[i] * b[i]
		s += p
		abs += math.Abs(p)
	}
	return s, abs
}

func to64[T tensor.Float](s []T) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}

func uniform(r interface{ Float64() float64 }) float64 { return 2*r.Float64() - 1 }
