package gorgonia

import (
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Gorgonia's structural ops (slicing and concatenation along any axis,
// transposes, repeats, At) all move elements without arithmetic. Each is
// lowered to a gather: output element i (flat, row-major) is input element
// src[i]. A constant is gathered in Go (see call.inGo); a varying value as
// invad ops that only relabel elements: the maximal runs of consecutive
// source elements become axis-0 Slices of the flattened value, joined by
// one Concat. Slice and Concat are Selection blocks, so the lump finder
// sees through them (a coupling layer that splits its features along axis 1
// stays a coupling). The cost is one Slice per run: a row per batch entry
// for an axis-1 slice, an element for a general transpose.

// gather returns the value of the given shape whose flat element i is flat
// element src[i] of v.
func gather(c *call, v *tape.Var, src []int, shape []int) *tape.Var {
	if c.inGo(v) {
		d := v.Value().Data()
		out := make([]float64, len(src))
		for i, s := range src {
			out[i] = d[s]
		}
		return v.Tape().Const(tensor.New(shape, out))
	}
	flat := reshapeTo(v, []int{v.Len()})
	var pieces []*tape.Var
	seen := map[[2]int]*tape.Var{}
	for i := 0; i < len(src); {
		j := i + 1
		for j < len(src) && src[j] == src[j-1]+1 {
			j++
		}
		key := [2]int{src[i], src[i] + j - i}
		p, ok := seen[key]
		if !ok {
			p = ops.Slice(flat, key[0], key[1])
			seen[key] = p
		}
		pieces = append(pieces, p)
		i = j
	}
	switch len(pieces) {
	case 0:
		return v.Tape().Const(tensor.Zeros(shape...))
	case 1:
		return reshapeTo(pieces[0], shape)
	}
	return reshapeTo(ops.Concat(pieces...), shape)
}

// reshapeTo returns v with the given shape (v itself if it has it).
func reshapeTo(v *tape.Var, shape []int) *tape.Var {
	if tensor.SameShape(v.Shape(), shape) {
		return v
	}
	return ops.Reshape(v, shape...)
}

// indexMap returns, for every multi-index of shape in row-major order,
// f(index).
func indexMap(shape []int, f func(idx []int) int) []int {
	n := tensor.SizeOf(shape)
	out := make([]int, 0, n)
	idx := make([]int, len(shape))
	for k := 0; k < n; k++ {
		out = append(out, f(idx))
		for d := len(shape) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// transposeSrc returns the shape and source map of permuting the axes of a
// value of shape in: output axis i is input axis perm[i].
func transposeSrc(in, perm []int) (shape, src []int) {
	st := tensor.Strides(in)
	shape = make([]int, len(perm))
	for i, p := range perm {
		shape[i] = in[p]
	}
	src = indexMap(shape, func(idx []int) int {
		s := 0
		for i, p := range perm {
			s += idx[i] * st[p]
		}
		return s
	})
	return shape, src
}

// sliceSrc returns the shape (the sliced axis kept) and source map of
// taking start, start+step, ... < end along axis.
func sliceSrc(in []int, axis, start, end, step int) (shape, src []int) {
	st := tensor.Strides(in)
	shape = append([]int(nil), in...)
	shape[axis] = (end - start + step - 1) / step
	src = indexMap(shape, func(idx []int) int {
		s := 0
		for i, k := range idx {
			if i == axis {
				k = start + k*step
			}
			s += k * st[i]
		}
		return s
	})
	return shape, src
}

// repeatSrc returns the shape and source map of repeating every element
// rep times along axis (numpy.repeat; a broadcast when in[axis] is 1).
func repeatSrc(in []int, axis, rep int) (shape, src []int) {
	st := tensor.Strides(in)
	shape = append([]int(nil), in...)
	shape[axis] *= rep
	src = indexMap(shape, func(idx []int) int {
		s := 0
		for i, k := range idx {
			if i == axis {
				k /= rep
			}
			s += k * st[i]
		}
		return s
	})
	return shape, src
}
