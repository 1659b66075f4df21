package batch

import (
	"errors"
	"fmt"
	"slices"

	"github.com/invad/invad/cpu"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/ops"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// ErrMixes is matched (errors.Is) by every *MixError.
var ErrMixes = errors.New("an op mixes the samples of the batch")

// MixError names the op that makes a program's Jacobian couple two samples
// along axis 0 of x (or keeps Minor from following the samples).
type MixError struct {
	Op  string // the op's name, "" when the input or output is at fault
	Pos int    // its tape position, -1 for none
	Why string
}

func (e *MixError) Error() string {
	if e.Pos >= 0 {
		return fmt.Sprintf("batch: %s at tape position %d mixes the samples along axis 0: %s", e.Op, e.Pos, e.Why)
	}
	return "batch: " + e.Why
}

// Is makes errors.Is(err, ErrMixes) true.
func (e *MixError) Is(target error) bool { return target == ErrMixes }

// Minor returns p recorded again, on a new tape at p's input value, with
// the samples along axis 0 of every value moved last (see the package
// comment), or a *MixError naming the first op that mixes samples. The
// program returned maps x to y as p does (same shapes, same layout).
func Minor(p *tape.Program) (*tape.Program, error) {
	if err := check(p); err != nil {
		return nil, err
	}
	tp := tape.NewTape()
	in := tp.Input(p.Input.Value())
	y, err := walk(p, in)
	if err != nil {
		return nil, err
	}
	return tp.Finish(in, y), nil
}

// MinorFunc returns the function that records p's batch-minor program (as
// Minor does) on the tape of its input, whatever the tape: a shape tape, a
// stream tape (the tapeless VIJP runs it that way) or a recording one. The
// input must be shaped like p's. It returns Minor's *MixError, found once
// here on a shape tape; the function then records the same ops at every
// call.
func MinorFunc(p *tape.Program) (func(x *tape.Var) *tape.Var, error) {
	if err := check(p); err != nil {
		return nil, err
	}
	tp := tape.NewShapeTape()
	if _, err := walk(p, tp.Input(tensor.Zeros(p.Input.Shape()...))); err != nil {
		return nil, err
	}
	return func(x *tape.Var) *tape.Var {
		if !slices.Equal(x.Shape(), p.Input.Shape()) {
			panic(fmt.Sprintf("batch: the batch-minor program of an input of shape %v called on shape %v", p.Input.Shape(), x.Shape()))
		}
		y, err := walk(p, x)
		if err != nil { // check's walk found none: p's ops and shapes do not change
			panic("batch: " + err.Error())
		}
		return y
	}, nil
}

// check returns a *MixError unless x and y of p hold the samples along
// axis 0.
func check(p *tape.Program) error {
	xs := p.Input.Shape()
	if len(xs) < 2 {
		return &MixError{Pos: -1, Why: fmt.Sprintf("x of shape %v has no batch axis besides its elements", xs)}
	}
	if ys := p.Output.Shape(); len(ys) < 1 || ys[0] != xs[0] || p.Output.IsConst() {
		return &MixError{Pos: -1, Why: fmt.Sprintf("y of shape %v does not keep the %d samples of x along axis 0", ys, xs[0])}
	}
	return nil
}

// walk records p's batch-minor program on in's tape, in standing for p's
// input, and returns its output.
func walk(p *tape.Program, in *tape.Var) (*tape.Var, error) { return walkTrace(p, in, nil) }

// walkTrace is walk noting in tr, when not nil, where each value it
// records for one of p's comes from.
func walkTrace(p *tape.Program, in *tape.Var, tr *Trace) (*tape.Var, error) {
	m := &minor{b: p.Input.Shape()[0], moved: map[int]*tape.Var{p.Input.ID(): toMinor(in)}, trace: tr}
	m.note(in, p.Input.ID(), Same)
	m.note(m.moved[p.Input.ID()], p.Input.ID(), Moved)
	for _, nd := range p.Nodes {
		out, err := m.node(nd)
		if err != nil {
			return nil, err
		}
		m.moved[nd.Out.ID()] = out
		m.note(out, nd.Out.ID(), Moved)
	}
	y, ok := m.moved[p.Output.ID()]
	if !ok {
		return nil, &MixError{Pos: -1, Why: "y is not computed from x"}
	}
	return fromMinor(y, p.Output.Shape()), nil
}

// Gains reports whether moving the samples of p pays: some op is a
// row-batched product X·W (block diagonal over the samples in row-major
// order, a Kron block batch-minor) and the lumps of p as recorded include
// a dense one (or one too large to accept), which batch-minor may split
// into per-sample blocks. Elsewhere the lumps are as fine either way, and
// the moves would only cost two transposes a product.
func Gains(p *tape.Program) bool {
	rowBatched := false
	for _, nd := range p.Nodes {
		if nd.Op == ops.MatMulOp && !nd.In[0].IsConst() && nd.In[1].IsConst() && len(nd.In[0].Shape()) == 2 && nd.In[0].Shape()[0] > 1 {
			rowBatched = true
			break
		}
	}
	if !rowBatched || len(p.Input.Shape()) < 2 {
		return false
	}
	an, err := lump.Analyze(p, 0)
	if err != nil {
		return errors.Is(err, lump.ErrLumpTooLarge)
	}
	for _, l := range an.Lumps {
		if l.Kind == lump.DenseLump {
			return true
		}
	}
	return false
}

type minor struct {
	b     int
	moved map[int]*tape.Var // value id in p → its batch-minor value
	trace *Trace            // nil: none kept
}

// note records that v holds the elements of p's value src in layout l.
func (m *minor) note(v *tape.Var, src int, l Layout) {
	if m.trace != nil {
		m.trace.Src[v.ID()] = Origin{Var: src, Layout: l}
	}
}

// Trace says where the values of a batch-minor program come from: per
// value ID of the batch-minor program, the value of the program it was
// recorded from whose elements it holds, and how they are laid out. Values
// the rewrite adds in between (the pieces of a transpose) have none.
type Trace struct {
	Src map[int]Origin
}

// Origin is a batch-minor value's source value and layout.
type Origin struct {
	Var    int // the source value's ID
	Layout Layout
}

// Layout is how a batch-minor value holds its source value's elements.
type Layout uint8

const (
	// Same: the same elements in the same order (a constant reshaped).
	Same Layout = iota
	// Moved: the samples moved last, source [B, s...] as [s..., B].
	Moved
	// Transposed: a 2-D constant [r, c] as [c, r].
	Transposed
)

// Back returns g, shaped like a batch-minor value of origin o, in the
// layout of the source value of shape src: the same numbers, moved back.
func (o Origin) Back(g *tensor.Tensor, src []int) *tensor.Tensor {
	switch o.Layout {
	case Moved:
		b := src[0]
		out := tensor.Zeros(src...)
		cpu.Transpose(out.Data(), g.Data(), g.Len()/b, b)
		return out
	case Transposed:
		out := tensor.Zeros(src...)
		cpu.Transpose(out.Data(), g.Data(), src[1], src[0])
		return out
	}
	return tensor.New(src, g.Data())
}

// MinorFuncTrace is MinorFunc whose function also returns the Trace of the
// program it recorded.
func MinorFuncTrace(p *tape.Program) (func(x *tape.Var) (*tape.Var, *Trace), error) {
	if _, err := MinorFunc(p); err != nil { // checks p once, on a shape tape
		return nil, err
	}
	return func(x *tape.Var) (*tape.Var, *Trace) {
		if !slices.Equal(x.Shape(), p.Input.Shape()) {
			panic(fmt.Sprintf("batch: the batch-minor program of an input of shape %v called on shape %v", p.Input.Shape(), x.Shape()))
		}
		tr := &Trace{Src: map[int]Origin{}}
		y, err := walkTrace(p, x, tr)
		if err != nil {
			panic("batch: " + err.Error())
		}
		return y, tr
	}, nil
}

// arg returns the batch-minor counterpart of varying input v of nd, which
// must hold the samples along axis 0 at rank rank (rank < 0: any).
func (m *minor) arg(nd *tape.Node, v *tape.Var, rank int) (*tape.Var, error) {
	s := v.Shape()
	mv, ok := m.moved[v.ID()]
	if !ok || len(s) == 0 || s[0] != m.b || (rank >= 0 && len(s) != rank) {
		return nil, &MixError{Op: nd.Op.Name(), Pos: nd.Pos, Why: fmt.Sprintf("an operand of shape %v does not hold the %d samples along axis 0 of the result", s, m.b)}
	}
	return mv, nil
}

// node records nd's batch-minor counterpart.
func (m *minor) node(nd *tape.Node) (*tape.Var, error) {
	mix := func(why string) error { return &MixError{Op: nd.Op.Name(), Pos: nd.Pos, Why: why} }
	outRank := len(nd.Out.Shape())
	switch op := nd.Op.(type) {
	case *ops.Elementwise:
		a, err := m.arg(nd, nd.In[0], -1)
		if err != nil {
			return nil, err
		}
		return tape.Apply(op, a), nil
	case *ops.Binary:
		args, err := m.operands(nd, outRank, false)
		if err != nil {
			return nil, err
		}
		return tape.Apply(op, args...), nil
	case *ops.ReshapeOp:
		if len(op.To) == 0 || op.To[0] != m.b {
			return nil, mix(fmt.Sprintf("a reshape to %v does not keep the %d samples along axis 0", op.To, m.b))
		}
		a, err := m.arg(nd, nd.In[0], -1)
		if err != nil {
			return nil, err
		}
		return ops.Reshape(a, append(append([]int(nil), op.To[1:]...), m.b)...), nil
	case *ops.SliceAxisOp: // along axis ≥ 1: the same slice, one axis lower
		a, err := m.arg(nd, nd.In[0], -1)
		if err != nil {
			return nil, err
		}
		return ops.SliceAxis(a, op.Axis-1, op.Lo, op.Hi), nil
	case *ops.SumAxisOp:
		a, err := m.arg(nd, nd.In[0], -1)
		if err != nil {
			return nil, err
		}
		if op.Axis == 0 {
			return nil, mix("a sum along axis 0 adds the samples together")
		}
		return tape.Apply(&ops.SumAxisOp{Axis: op.Axis - 1, Mean: op.Mean}, a), nil
	case *ops.ConcatAxisOp: // along axis ≥ 1; constant pieces moved too
		args, err := m.operands(nd, outRank, true)
		if err != nil {
			return nil, err
		}
		return ops.ConcatAxis(op.Axis-1, args...), nil
	case *ops.PermuteOp:
		if op.Perm[0] != 0 {
			return nil, mix(fmt.Sprintf("permutation %v moves the samples off axis 0", op.Perm))
		}
		a, err := m.arg(nd, nd.In[0], -1)
		if err != nil {
			return nil, err
		}
		perm := make([]int, len(op.Perm))
		for i, p := range op.Perm[1:] {
			perm[i] = p - 1
		}
		perm[len(perm)-1] = len(perm) - 1
		return ops.Permute(a, perm...), nil
	}
	if nd.Op == ops.MatMulOp {
		if nd.In[0].IsConst() || !nd.In[1].IsConst() {
			return nil, mix("a matrix product is batched only as X·W with X varying and W constant")
		}
		a, err := m.arg(nd, nd.In[0], 2)
		if err != nil {
			return nil, err
		}
		w := nd.In[1].Value()
		if w.Rank() == 1 { // X·w: [B] = (wᵀ X')ᵀ
			row := a.Tape().Const(tensor.New([]int{1, w.Len()}, w.Data()))
			m.note(row, nd.In[1].ID(), Same)
			return ops.Reshape(ops.MatMul(row, a), m.b), nil
		}
		wt := a.Tape().Const(transpose(w))
		m.note(wt, nd.In[1].ID(), Transposed)
		return ops.MatMul(wt, a), nil
	}
	return nil, mix("no batch-minor form of this op")
}

// operands returns the batch-minor counterparts of nd's inputs, whose
// result has rank outRank: a varying input's moved value (it must hold the
// samples along axis 0 at that rank), a constant moved by constMinor (which
// may broadcast along the samples unless whole: then it must hold them
// all, as a concatenated piece must).
func (m *minor) operands(nd *tape.Node, outRank int, whole bool) ([]*tape.Var, error) {
	args := make([]*tape.Var, len(nd.In))
	var tp *tape.Tape
	for i, v := range nd.In {
		if !v.IsConst() {
			a, err := m.arg(nd, v, outRank)
			if err != nil {
				return nil, err
			}
			args[i], tp = a, a.Tape()
		}
	}
	for i, v := range nd.In {
		if !v.IsConst() {
			continue
		}
		mix := func(why string) error { return &MixError{Op: nd.Op.Name(), Pos: nd.Pos, Why: why} }
		if s := v.Shape(); whole && (len(s) == 0 || s[0] != m.b) {
			return nil, mix(fmt.Sprintf("a constant piece of shape %v does not hold the %d samples along axis 0", s, m.b))
		}
		c, err := constMinor(v.Value(), outRank, m.b)
		if err != nil {
			return nil, mix(err.Error())
		}
		args[i] = tp.Const(c)
		l := Same
		if len(v.Shape()) > 0 && movedRows(v.Shape(), outRank) == m.b && m.b > 1 {
			l = Moved
		}
		m.note(args[i], v.ID(), l)
	}
	return args, nil
}

// constMinor returns constant c, an operand of a binary op whose result has
// rank rank and the samples along axis 0, in batch-minor order: padded to
// rank rank with leading ones, its axis 0 moved last (a copy only if that
// axis holds the samples; a rank-0 c stays as it is).
func constMinor(c *tensor.Tensor, rank, b int) (*tensor.Tensor, error) {
	s := c.Shape()
	if len(s) == 0 {
		return c, nil
	}
	full := make([]int, rank)
	for i := range full {
		full[i] = 1
	}
	copy(full[rank-len(s):], s)
	to := append(append([]int(nil), full[1:]...), full[0])
	switch full[0] {
	case 1:
		return tensor.New(to, c.Data()), nil
	case b:
		t := transpose(tensor.New([]int{b, c.Len() / b}, c.Data()))
		return tensor.New(to, t.Data()), nil
	}
	return nil, fmt.Errorf("a constant operand of shape %v has %d rows, neither 1 nor the %d samples", s, full[0], b)
}

// movedRows returns the size of axis 0 of a constant of shape s padded to
// rank rank with leading ones: the samples, when constMinor moves them.
func movedRows(s []int, rank int) int {
	if len(s) < rank {
		return 1
	}
	return s[0]
}

// transpose returns the transpose of the 2-D constant t.
func transpose(t *tensor.Tensor) *tensor.Tensor {
	s := t.Shape()
	out := tensor.Zeros(s[1], s[0])
	cpu.Transpose(out.Data(), t.Data(), s[0], s[1])
	return out
}

// toMinor moves the samples along axis 0 of v last: [B, s...] → [s..., B].
func toMinor(v *tape.Var) *tape.Var {
	s := v.Shape()
	b, rest := s[0], v.Len()/s[0]
	t := ops.Transpose(ops.Reshape(v, b, rest))
	return ops.Reshape(t, append(append([]int(nil), s[1:]...), b)...)
}

// fromMinor moves the samples of a batch-minor v back to axis 0, shaped as
// shape ([B, s...]).
func fromMinor(v *tape.Var, shape []int) *tape.Var {
	b := shape[0]
	t := ops.Transpose(ops.Reshape(v, v.Len()/b, b))
	return ops.Reshape(t, shape...)
}
