package opstest

// The conformance rows of the ops along an axis (Transpose, Permute,
// SliceAxis, SplitAxis, ConcatAxis, SumAxis, MeanAxis), with their
// plain-loop references.

import (
	"slices"

	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// unflat returns the multi-index of flat index e in shape.
func unflat(e int, shape []int) []int {
	idx := make([]int, len(shape))
	for i := len(shape) - 1; i >= 0; i-- {
		idx[i] = e % shape[i]
		e /= shape[i]
	}
	return idx
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// permuteRef: output element idx is input element idx' with
// idx'[perm[d]] = idx[d].
func permuteRef(shape []int, perm ...int) func([][]float64) []float64 {
	out := make([]int, len(perm))
	for d, p := range perm {
		out[d] = shape[p]
	}
	st := tensor.Strides(shape)
	return func(in [][]float64) []float64 {
		res := make([]float64, size(out))
		for e := range res {
			k := 0
			for d, i := range unflat(e, out) {
				k += i * st[perm[d]]
			}
			res[e] = in[0][k]
		}
		return res
	}
}

// sliceAxisRef keeps the input elements whose index along axis is in
// [lo, hi), in order.
func sliceAxisRef(shape []int, axis, lo, hi int) func([][]float64) []float64 {
	return func(in [][]float64) []float64 {
		var res []float64
		for e, v := range in[0] {
			if i := unflat(e, shape)[axis]; i >= lo && i < hi {
				res = append(res, v)
			}
		}
		return res
	}
}

// concatAxisRef: output element idx comes from the input whose range along
// axis holds idx[axis].
func concatAxisRef(axis int, shapes ...[]int) func([][]float64) []float64 {
	out := slices.Clone(shapes[0])
	out[axis] = 0
	for _, sh := range shapes {
		out[axis] += sh[axis]
	}
	return func(in [][]float64) []float64 {
		res := make([]float64, size(out))
		for e := range res {
			idx := unflat(e, out)
			k := 0
			for idx[axis] >= shapes[k][axis] {
				idx[axis] -= shapes[k][axis]
				k++
			}
			j := 0
			for d, i := range idx {
				j += i * tensor.Strides(shapes[k])[d]
			}
			res[e] = in[k][j]
		}
		return res
	}
}

// sumAxisRef adds each input element into the output element of its index
// without axis; mean divides by the axis's size.
func sumAxisRef(shape []int, axis int, mean bool) func([][]float64) []float64 {
	out := slices.Delete(slices.Clone(shape), axis, axis+1)
	return func(in [][]float64) []float64 {
		res := make([]float64, size(out))
		for e, v := range in[0] {
			idx := unflat(e, shape)
			idx = slices.Delete(idx, axis, axis+1)
			j := 0
			for d, i := range idx {
				j += i * tensor.Strides(out)[d]
			}
			res[j] += v
		}
		if mean {
			for j := range res {
				res[j] /= float64(shape[axis])
			}
		}
		return res
	}
}

func axisRows() []Row {
	v := func(shape ...int) Input { return Input{Shape: shape} }
	permuteBad := [][][]int{{{2, 3, 4}}, {{3}}, {{2, 3}, {2, 3}}} // rank 3 and rank 1 for a 2-axis permutation; two operands
	perm := func(p ...int) func([]*tape.Var) *tape.Var {
		return func(v []*tape.Var) *tape.Var { return ops.Permute(v[0], p...) }
	}
	slice := func(axis, lo, hi int) func([]*tape.Var) *tape.Var {
		return func(v []*tape.Var) *tape.Var { return ops.SliceAxis(v[0], axis, lo, hi) }
	}
	sliceBad := [][][]int{{{3}}, {{3, 2}}, {{3, 4}, {3, 4}}} // no axis 1; axis 1 shorter than Hi; two operands
	split := func(axis, i int, sizes ...int) func([]*tape.Var) *tape.Var {
		return func(v []*tape.Var) *tape.Var { return ops.SplitAxis(v[0], axis, sizes...)[i] }
	}
	concat := func(axis int) func([]*tape.Var) *tape.Var {
		return func(v []*tape.Var) *tape.Var { return ops.ConcatAxis(axis, v...) }
	}
	// Axis-0 sizes that differ; ranks that differ; no axis 1; no operand.
	concatBad := [][][]int{{{2, 3}, {3, 3}}, {{2, 3}, {2}}, {{2}}, {}}
	sumBad := [][][]int{{{}}, {{3}}, {{3, 4}, {3, 4}}} // rank 0; no axis 1; two operands
	sum := func(axis int) func([]*tape.Var) *tape.Var {
		return func(v []*tape.Var) *tape.Var { return ops.SumAxis(v[0], axis) }
	}
	mean := func(axis int) func([]*tape.Var) *tape.Var {
		return func(v []*tape.Var) *tape.Var { return ops.MeanAxis(v[0], axis) }
	}
	sa := func(axis int) *ops.SumAxisOp { return &ops.SumAxisOp{Axis: axis} }
	ma := func(axis int) *ops.SumAxisOp { return &ops.SumAxisOp{Axis: axis, Mean: true} }
	return []Row{
		{Fn: "Transpose", Apply: apply1(ops.Transpose), Case: Case{
			Name: "Transpose", Reason: "[2,3] → [3,2]: a permutation block, declared dense; inverted by the inverse permutation, log|det| 0",
			Op: &ops.PermuteOp{Perm: []int{1, 0}}, Inputs: []Input{v(2, 3)}, Out: []int{3, 2}, Ref: permuteRef([]int{2, 3}, 1, 0),
			BadShapes: permuteBad,
		}},
		{Fn: "Permute", Apply: perm(2, 0, 1), Case: Case{
			Name: "Permute/3-D", Reason: "a cyclic permutation of three axes: no two axes merge in the strided copy",
			Op: &ops.PermuteOp{Perm: []int{2, 0, 1}}, Inputs: []Input{v(2, 3, 4)}, Out: []int{4, 2, 3}, Ref: permuteRef([]int{2, 3, 4}, 2, 0, 1),
			BadShapes: [][][]int{{{2, 3}}, {{2, 3, 4, 1}}},
		}},
		{Fn: "Permute", Apply: perm(0, 2, 1), Case: Case{
			Name: "Permute/batch-transpose", Reason: "each sample of a batch transposed: the batch axis stays, the strided copy's outer axis",
			Op: &ops.PermuteOp{Perm: []int{0, 2, 1}}, Inputs: []Input{v(2, 2, 3)}, Out: []int{2, 3, 2}, Ref: permuteRef([]int{2, 2, 3}, 0, 2, 1),
			BadShapes: [][][]int{{{2, 3}}},
		}},
		{Fn: "Permute", Apply: perm(1, 0, 2), Case: Case{
			Name: "Permute/size-1-move", Reason: "moving a size-1 axis keeps the flat order: the identity, a relabelling",
			Op: &ops.PermuteOp{Perm: []int{1, 0, 2}}, Inputs: []Input{v(2, 1, 3)}, Out: []int{1, 2, 3}, Ref: permuteRef([]int{2, 1, 3}, 1, 0, 2),
			BadShapes: [][][]int{{{2, 3}}},
		}},
		{Fn: "Permute", Apply: perm(0, 1), Case: Case{
			Name: "Permute/identity", Reason: "the identity permutation: the identity block",
			Op: &ops.PermuteOp{Perm: []int{0, 1}}, Inputs: []Input{v(2, 3)}, Out: []int{2, 3}, Ref: permuteRef([]int{2, 3}, 0, 1),
			BadShapes: permuteBad,
		}},
		{Fn: "SliceAxis", Apply: slice(1, 1, 3), Case: Case{
			Name: "SliceAxis/axis-1", Reason: "columns [1, 3) of a [3,4] value: a strided copy, dense and not square",
			Op: &ops.SliceAxisOp{Axis: 1, Lo: 1, Hi: 3}, Inputs: []Input{v(3, 4)}, Out: []int{3, 2}, Ref: sliceAxisRef([]int{3, 4}, 1, 1, 3),
			BadShapes: sliceBad,
		}},
		{Fn: "SliceAxis", Apply: slice(1, 1, 3), Case: Case{
			Name: "SliceAxis/middle-axis", Reason: "a middle axis: chunks of the trailing axis's size",
			Op: &ops.SliceAxisOp{Axis: 1, Lo: 1, Hi: 3}, Inputs: []Input{v(2, 4, 3)}, Out: []int{2, 2, 3}, Ref: sliceAxisRef([]int{2, 4, 3}, 1, 1, 3),
			BadShapes: sliceBad,
		}},
		{Fn: "SliceAxis", Apply: slice(1, 2, 4), Case: Case{
			Name: "SliceAxis/leading-ones", Reason: "every dimension before the axis is 1: contiguous, a selection at input offset 4",
			Op: &ops.SliceAxisOp{Axis: 1, Lo: 2, Hi: 4}, Inputs: []Input{v(1, 5, 2)}, Out: []int{1, 2, 2}, Ref: sliceAxisRef([]int{1, 5, 2}, 1, 2, 4),
			BadShapes: sliceBad,
		}},
		{Fn: "SliceAxis", Apply: slice(1, 0, 4), Case: Case{
			Name: "SliceAxis/whole", Reason: "the whole axis: the identity, with an inverse rule",
			Op: &ops.SliceAxisOp{Axis: 1, Lo: 0, Hi: 4}, Inputs: []Input{v(3, 4)}, Out: []int{3, 4}, Ref: sliceAxisRef([]int{3, 4}, 1, 0, 4),
			BadShapes: sliceBad,
		}},
		{Fn: "SliceAxis", Apply: slice(0, 1, 3), Case: Case{
			Name: "SliceAxis/axis-0", Reason: "along axis 0 SliceAxis records Slice (a view, a selection for the lump analysis)",
			Op: &ops.SliceOp{Lo: 1, Hi: 3}, Inputs: []Input{v(4, 3)}, Out: []int{2, 3}, Ref: sliceAxisRef([]int{4, 3}, 0, 1, 3),
			BadShapes: [][][]int{{{}}, {{1, 3}}},
		}},
		{Fn: "SplitAxis", Apply: split(1, 1, 2, 3), Case: Case{
			Name: "SplitAxis/second", Reason: "the second piece of SplitAxis(v, 1, 2, 3) is SliceAxis(v, 1, 2, 5)",
			Op: &ops.SliceAxisOp{Axis: 1, Lo: 2, Hi: 5}, Inputs: []Input{v(2, 5)}, Out: []int{2, 3}, Ref: sliceAxisRef([]int{2, 5}, 1, 2, 5),
			BadShapes: sliceBad,
		}},
		{Fn: "SplitAxis", Apply: split(0, 0, 1, 2), Case: Case{
			Name: "SplitAxis/axis-0", Reason: "along axis 0 SplitAxis is Split: its first piece is Slice(v, 0, 1)",
			Op: &ops.SliceOp{Lo: 0, Hi: 1}, Inputs: []Input{v(3, 2)}, Out: []int{1, 2}, Ref: sliceAxisRef([]int{3, 2}, 0, 0, 1),
			BadShapes: [][][]int{{{}}},
		}},
		{Fn: "ConcatAxis", Apply: concat(1), Case: Case{
			Name: "ConcatAxis/two", Reason: "[2,1] and [2,3] along axis 1: each input interleaved with the other, dense blocks",
			Op: &ops.ConcatAxisOp{Axis: 1}, Inputs: []Input{v(2, 1), v(2, 3)}, Out: []int{2, 4},
			Ref: concatAxisRef(1, []int{2, 1}, []int{2, 3}), BadShapes: concatBad,
		}},
		{Fn: "ConcatAxis", Apply: concat(2), Case: Case{
			Name: "ConcatAxis/with-const", Reason: "a constant in the middle along the last axis: its JVP pieces zeroed, its structure zero",
			Op: &ops.ConcatAxisOp{Axis: 2}, Inputs: []Input{v(2, 2, 1), {Shape: []int{2, 2, 2}, Const: true}, v(2, 2, 1)}, Out: []int{2, 2, 4},
			Ref: concatAxisRef(2, []int{2, 2, 1}, []int{2, 2, 2}, []int{2, 2, 1}), BadShapes: concatBad,
		}},
		{Fn: "ConcatAxis", Apply: concat(1), Case: Case{
			Name: "ConcatAxis/same-shape", Reason: "the alias check runs ConcatAxis(1, x, x)",
			Op: &ops.ConcatAxisOp{Axis: 1}, Inputs: []Input{v(3, 2), v(3, 2)}, Out: []int{3, 4},
			Ref: concatAxisRef(1, []int{3, 2}, []int{3, 2}), BadShapes: concatBad,
		}},
		{Fn: "ConcatAxis", Apply: concat(1), Case: Case{
			Name: "ConcatAxis/leading-ones", Reason: "every dimension before the axis is 1: contiguous pieces, selections at output offsets 0 and 4",
			Op: &ops.ConcatAxisOp{Axis: 1}, Inputs: []Input{v(1, 2, 2), v(1, 1, 2)}, Out: []int{1, 3, 2},
			Ref: concatAxisRef(1, []int{1, 2, 2}, []int{1, 1, 2}), BadShapes: concatBad,
		}},
		{Fn: "ConcatAxis", Apply: concat(1), Case: Case{
			Name: "ConcatAxis/one", Reason: "a single operand: the identity, with an inverse rule",
			Op: &ops.ConcatAxisOp{Axis: 1}, Inputs: []Input{v(2, 3)}, Out: []int{2, 3},
			Ref: concatAxisRef(1, []int{2, 3}), BadShapes: concatBad,
		}},
		{Fn: "ConcatAxis", Apply: concat(0), Case: Case{
			Name: "ConcatAxis/axis-0", Reason: "along axis 0 ConcatAxis records Concat (selections for the lump analysis)",
			Op: ops.ConcatOp, Inputs: []Input{v(1, 2), v(2, 2)}, Out: []int{3, 2},
			Ref: concatAxisRef(0, []int{1, 2}, []int{2, 2}), BadShapes: [][][]int{{{2, 3}, {2, 4}}, {}},
		}},
		{Fn: "SumAxis", Apply: sum(1), Case: Case{
			Name: "SumAxis/last", Reason: "along the last axis each output reads one contiguous row: block diagonal, shared blocks of ones",
			Op: sa(1), Inputs: []Input{v(3, 4)}, Out: []int{3}, Ref: sumAxisRef([]int{3, 4}, 1, false), BadShapes: sumBad,
		}},
		{Fn: "SumAxis", Apply: sum(0), Case: Case{
			Name: "SumAxis/first", Reason: "down the columns: the rows interleave, a dense block",
			Op: sa(0), Inputs: []Input{v(3, 4)}, Out: []int{4}, Ref: sumAxisRef([]int{3, 4}, 0, false), BadShapes: [][][]int{{{}}},
		}},
		{Fn: "SumAxis", Apply: sum(1), Case: Case{
			Name: "SumAxis/middle", Reason: "a middle axis: rows of the trailing axis added up",
			Op: sa(1), Inputs: []Input{v(2, 3, 2)}, Out: []int{2, 2}, Ref: sumAxisRef([]int{2, 3, 2}, 1, false), BadShapes: sumBad,
		}},
		{Fn: "SumAxis", Apply: sum(1), Case: Case{
			Name: "SumAxis/size-1", Reason: "an axis of size 1: the identity, with an inverse rule",
			Op: sa(1), Inputs: []Input{v(3, 1)}, Out: []int{3}, Ref: sumAxisRef([]int{3, 1}, 1, false), BadShapes: sumBad,
		}},
		{Fn: "MeanAxis", Apply: mean(1), Case: Case{
			Name: "MeanAxis/last", Reason: "block diagonal, shared blocks of 1/4",
			Op: ma(1), Inputs: []Input{v(3, 4)}, Out: []int{3}, Ref: sumAxisRef([]int{3, 4}, 1, true),
			BadShapes: append(slices.Clone(sumBad), [][]int{{3, 0}}), // and an empty axis
		}},
		{Fn: "MeanAxis", Apply: mean(1), Case: Case{
			Name: "MeanAxis/middle", Reason: "a middle axis, dense",
			Op: ma(1), Inputs: []Input{v(2, 3, 2)}, Out: []int{2, 2}, Ref: sumAxisRef([]int{2, 3, 2}, 1, true), BadShapes: sumBad,
		}},
		{Fn: "MeanAxis", Apply: mean(1), Case: Case{
			Name: "MeanAxis/size-1", Reason: "an axis of size 1: the mean is the value, the identity",
			Op: ma(1), Inputs: []Input{v(2, 1, 3)}, Out: []int{2, 3}, Ref: sumAxisRef([]int{2, 1, 3}, 1, true), BadShapes: sumBad,
		}},
	}
}
