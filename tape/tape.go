package tape

import (
	"fmt"
	"slices"

	"github.com/invad/invad/tensor"
)

// Tape records a program. It is not safe for concurrent recording.
type Tape struct {
	vars  []*Var
	nodes []*Node
	mode  mode
	hook  func(op Op, in []*Var, out *Var)
	count int // op applications seen in stream mode
}

type mode uint8

const (
	record    mode = iota
	shapeOnly      // record ops and shapes, compute no varying value
	stream         // compute values, keep no ops
)

// NewTape returns an empty tape that records ops and their values.
func NewTape() *Tape { return &Tape{} }

// NewShapeTape returns a tape that records ops and shapes but computes no
// value that depends on an input: Value is nil for those. A program whose
// structure does not depend on values records the same ops on it as on a
// full tape, at almost no cost.
func NewShapeTape() *Tape { return &Tape{mode: shapeOnly} }

// NewStreamTape returns a tape that computes every value but records no op:
// after each op application on a varying input it calls hook, and keeps no
// reference to the values, so they are freed as soon as the program and the
// hook drop them. Values are numbered as on a recording tape. A nil hook
// runs the program for its values alone.
func NewStreamTape(hook func(op Op, in []*Var, out *Var)) *Tape {
	return &Tape{mode: stream, hook: hook}
}

// Var is a value on a tape: an input, a constant, or an op's output.
type Var struct {
	tape    *Tape
	id      int
	shape   []int
	n       int
	val     *tensor.Tensor // nil for a varying value on a shape tape
	node    *Node          // the op that computed it; nil for inputs and constants
	varying bool           // depends on an input
}

// Node is one recorded application of an op.
type Node struct {
	Op  Op
	In  []*Var
	Out *Var
	// Pos is the node's position on the tape in recording order.
	Pos int
}

// Input puts an input (a varying value) on the tape. t is not copied.
func (tp *Tape) Input(t *tensor.Tensor) *Var {
	if t == nil {
		panic("tape: nil input tensor")
	}
	return tp.newVar(t, nil, true)
}

// Const puts a constant on the tape. t is not copied.
func (tp *Tape) Const(t *tensor.Tensor) *Var {
	if t == nil {
		panic("tape: nil constant tensor")
	}
	return tp.newVar(t, nil, false)
}

func (tp *Tape) newVar(t *tensor.Tensor, n *Node, varying bool) *Var {
	v := &Var{tape: tp, id: tp.nextID(), val: t, shape: t.Shape(), n: t.Len(), node: n, varying: varying}
	if tp.mode != stream {
		tp.vars = append(tp.vars, v)
	}
	return v
}

func (tp *Tape) nextID() int {
	if tp.mode == stream {
		tp.count++
		return tp.count - 1
	}
	return len(tp.vars)
}

// Apply runs op on the inputs and records it. If no input varies, the result
// is folded into a constant and nothing is recorded. It panics if the inputs
// are nil or come from different tapes, or (from the op) if their shapes do
// not fit.
func Apply(op Op, in ...*Var) *Var {
	if len(in) == 0 {
		panic("tape: op " + op.Name() + " applied to no inputs")
	}
	var tp *Tape
	shapes := make([][]int, len(in))
	vals := make([]*tensor.Tensor, len(in))
	varying := false
	for i, v := range in {
		if v == nil {
			panic(fmt.Sprintf("tape: input %d of %s is nil", i, op.Name()))
		}
		if tp == nil {
			tp = v.tape
		} else if v.tape != tp {
			panic("tape: inputs of " + op.Name() + " come from different tapes")
		}
		shapes[i] = v.shape
		vals[i] = v.val
		varying = varying || v.varying
	}
	shape := op.Shape(shapes)
	if varying && tp.mode == shapeOnly {
		n := &Node{Op: op, In: append([]*Var(nil), in...), Pos: len(tp.nodes)}
		tp.nodes = append(tp.nodes, n)
		n.Out = &Var{tape: tp, id: len(tp.vars), shape: shape, n: tensor.SizeOf(shape), node: n, varying: true}
		tp.vars = append(tp.vars, n.Out)
		return n.Out
	}
	var out *tensor.Tensor
	if vw, ok := op.(Viewer); ok {
		out = vw.View(vals)
	} else {
		out = tensor.Zeros(shape...)
		op.Forward(out, vals)
	}
	if !varying {
		return tp.newVar(out, nil, false)
	}
	if tp.mode == stream {
		v := tp.newVar(out, nil, true)
		if tp.hook != nil {
			tp.hook(op, in, v)
		}
		return v
	}
	n := &Node{Op: op, In: append([]*Var(nil), in...), Pos: len(tp.nodes)}
	tp.nodes = append(tp.nodes, n)
	n.Out = tp.newVar(out, n, true)
	return n.Out
}

// Replay records op applied to in with the value out, computed elsewhere
// (the same op on the same values, on another tape), without running the
// op: out itself, not a copy, becomes the value. It serves to record a
// program again with some of its inputs held fixed: an op none of whose
// inputs varies gives a constant, as Apply does. It panics as Apply does,
// if out is nil or its shape is not the op's, or if tp is not a recording
// tape.
func (tp *Tape) Replay(op Op, in []*Var, out *tensor.Tensor) *Var {
	if tp.mode != record {
		panic("tape: Replay on a shape or stream tape")
	}
	if out == nil {
		panic("tape: Replay of " + op.Name() + " with a nil value")
	}
	shapes := make([][]int, len(in))
	varying := false
	for i, v := range in {
		if v == nil {
			panic(fmt.Sprintf("tape: input %d of %s is nil", i, op.Name()))
		}
		if v.tape != tp {
			panic("tape: Replay of " + op.Name() + " with an input from another tape")
		}
		shapes[i] = v.shape
		varying = varying || v.varying
	}
	if shape := op.Shape(shapes); !slices.Equal(shape, out.Shape()) {
		panic(fmt.Sprintf("tape: Replay of %s with a value of shape %v, want %v", op.Name(), out.Shape(), shape))
	}
	if !varying {
		return tp.newVar(out, nil, false)
	}
	n := &Node{Op: op, In: append([]*Var(nil), in...), Pos: len(tp.nodes)}
	tp.nodes = append(tp.nodes, n)
	n.Out = tp.newVar(out, n, true)
	return n.Out
}

// Value returns the value (not a copy); nil for a varying value on a shape
// tape.
func (v *Var) Value() *tensor.Tensor { return v.val }

// Shape returns the value's shape. The caller must not modify it.
func (v *Var) Shape() []int { return v.shape }

// Len returns the value's number of elements.
func (v *Var) Len() int { return v.n }

// Tape returns the tape v lives on.
func (v *Var) Tape() *Tape { return v.tape }

// ID is v's index on its tape, dense from 0.
func (v *Var) ID() int { return v.id }

// IsConst reports whether v does not depend on an input.
func (v *Var) IsConst() bool { return !v.varying }

// Node returns the op application that computed v, nil for inputs and constants.
func (v *Var) Node() *Node { return v.node }

// NumVars is the number of values recorded so far (inputs, constants, outputs).
func (tp *Tape) NumVars() int {
	if tp.mode == stream {
		return tp.count
	}
	return len(tp.vars)
}

// Program is a finished tape: the ops the output depends on, in recording
// order, with liveness.
type Program struct {
	// NumVars is the number of values on the tape when it was finished;
	// every Var.ID() of the program is below it.
	NumVars int
	Input   *Var
	Output  *Var
	// Nodes are the ops the output depends on, in recording order.
	Nodes []*Node
	// LastUse[id] is the index in Nodes of the last node reading the value
	// with that ID, or -1 if no kept node reads it. The output is live to the
	// end whatever LastUse says.
	LastUse []int
	// Pruned is the number of recorded ops dropped as dead code.
	Pruned int
}

// SameStructure reports whether q records the same program as p up to
// values: the same input and output (value IDs and shapes), and the same
// ops in the same order, each with the same parameters (as the op prints
// them), output and inputs (value IDs, shapes, constant or varying).
// Everything the lump analysis reads is then the same, so its result can
// be reused.
func (p *Program) SameStructure(q *Program) bool {
	sameVar := func(a, b *Var) bool {
		return a.ID() == b.ID() && a.IsConst() == b.IsConst() && slices.Equal(a.Shape(), b.Shape())
	}
	if p == q {
		return true
	}
	if p.NumVars != q.NumVars || len(p.Nodes) != len(q.Nodes) || !sameVar(p.Input, q.Input) || !sameVar(p.Output, q.Output) {
		return false
	}
	for i, a := range p.Nodes {
		b := q.Nodes[i]
		if a.Pos != b.Pos || len(a.In) != len(b.In) || !sameVar(a.Out, b.Out) || a.Op.Name() != b.Op.Name() {
			return false
		}
		for j, v := range a.In {
			if !sameVar(v, b.In[j]) {
				return false
			}
		}
		if fmt.Sprint(a.Op) != fmt.Sprint(b.Op) {
			return false
		}
	}
	return true
}

// Finish prunes the ops out does not depend on and computes liveness. The
// program does not reference the tape, so the values of pruned ops can be
// collected once the tape itself is dropped.
// It panics if in or out are nil or not on the tape.
func (tp *Tape) Finish(in, out *Var) *Program {
	if in == nil || out == nil {
		panic("tape: Finish with a nil value")
	}
	if in.tape != tp || out.tape != tp {
		panic("tape: Finish with a value from another tape")
	}
	need := make([]bool, len(tp.vars))
	need[out.id] = true
	keep := make([]bool, len(tp.nodes))
	kept := 0
	for i := len(tp.nodes) - 1; i >= 0; i-- {
		n := tp.nodes[i]
		if !need[n.Out.id] {
			continue
		}
		keep[i] = true
		kept++
		for _, v := range n.In {
			need[v.id] = true
		}
	}
	p := &Program{NumVars: len(tp.vars), Input: in, Output: out, Nodes: make([]*Node, 0, kept), LastUse: make([]int, len(tp.vars))}
	for i := range p.LastUse {
		p.LastUse[i] = -1
	}
	for i, n := range tp.nodes {
		if !keep[i] {
			continue
		}
		for _, v := range n.In {
			p.LastUse[v.id] = len(p.Nodes)
		}
		p.Nodes = append(p.Nodes, n)
	}
	p.Pruned = len(tp.nodes) - kept
	return p
}

// ReleaseValues drops the values of the program's input and of every
// value computed from it (constants, the caller's, are kept): for a caller
// that has made its own copies (package inverse's float32 products keep
// them rounded to float32) and needs only the program's structure, its
// ops, shapes and nodes, from now on. Value returns nil for them after;
// running an op rule on them panics.
func (p *Program) ReleaseValues() {
	for _, v := range p.Input.tape.vars {
		if v.varying {
			v.val = nil
		}
	}
}

// Bytes returns the bytes of the values the program holds: the input, the
// constants its ops read, and every kept op's output, each counted once.
// Views (the outputs of Viewer ops such as Reshape and Slice) share their
// input's storage and add nothing.
func (p *Program) Bytes() int64 {
	seen := make([]bool, p.NumVars)
	var b int64
	add := func(v *Var) {
		if seen[v.id] {
			return
		}
		seen[v.id] = true
		if v.node != nil {
			if _, view := v.node.Op.(Viewer); view {
				return
			}
		}
		b += int64(v.n) * 8
	}
	add(p.Input)
	add(p.Output)
	for _, n := range p.Nodes {
		add(n.Out)
		for _, v := range n.In {
			add(v)
		}
	}
	return b
}
