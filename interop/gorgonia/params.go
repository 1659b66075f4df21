package gorgonia

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/invad/invad/interop/gtensor"
	"github.com/invad/invad/inverse"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Func returns the imported program as a function of its input and of the
// given leaves, for package ad and inverse.LinearizeArg, LogAbsDetGrad and
// the other functions of several inputs: xs[0] is the input (as F's x),
// xs[1+k] the value of params[k], with its number of elements. The leaves
// not given stay constants read from Gorgonia when the function runs, as
// in F; with no params the function computes what F does.
//
// A parameter is a leaf the program reads (a variable such as a weight or
// a bias, or a Gorgonia constant). Func returns a *NodeError naming the
// node, wrapping ErrParam for a node that is not such a leaf (an op node,
// a node the output does not read, one a recognized pattern absorbs), the
// input, or a node given twice; ErrDtype for a node neither float64 nor
// float32; and ErrUnsupported for a node imported only for constant
// operands (abs, a power by another exponent) that depends on a parameter.
// It panics if a parameter is nil.
//
// The function panics (messages starting "gorgonia: ") if it is given the
// wrong number of values, a nil one, or one with the wrong number of
// elements. Every run records the same ops whichever of its inputs are
// constants: the structural ops (transposes, slices, repeats) of a value
// that depends on an input go through invad ops even where a caller passes
// that input as a constant (as inverse.LinearizeArg does). The function is
// safe for concurrent use.
func (p *Program) Func(params ...*G.Node) (func(xs ...*tape.Var) *tape.Var, error) {
	idx, err := p.paramSteps(params)
	if err != nil {
		return nil, err
	}
	isParam := make([]bool, len(p.steps))
	for _, i := range idx {
		isParam[i] = true
	}
	live := make([]bool, len(p.steps))
	index := make(map[*G.Node]int, len(p.steps))
	for i, s := range p.steps {
		index[s.node] = i
		live[i] = s.input || isParam[i]
		for _, j := range s.in {
			live[i] = live[i] || live[j]
		}
	}
	vary := func(n *G.Node) bool { return live[index[n]] }
	for _, s := range p.steps {
		if s.rule.check != nil {
			if why := s.rule.check(vary); why != "" {
				return nil, unsupported(s.node, "%s (Func: the parameters count as inputs)", why)
			}
		}
	}
	if err := p.dryRun(idx, live); err != nil {
		return nil, err
	}
	sizes := make([]int, len(params))
	for k, n := range params {
		sizes[k] = tensor.SizeOf(shapeOf(n))
	}
	return func(xs ...*tape.Var) *tape.Var {
		if len(xs) != 1+len(params) {
			panic(fmt.Sprintf("gorgonia: the function takes the input and %d parameters, got %d values", len(params), len(xs)))
		}
		for k, v := range xs {
			if v == nil {
				panic(fmt.Sprintf("gorgonia: value %d is nil", k))
			}
		}
		x := xs[0]
		if n := tensor.SizeOf(p.inShape); x.Len() != n {
			panic(fmt.Sprintf("gorgonia: x has shape %v, the input node %q has shape %v", x.Shape(), p.in.Name(), p.inShape))
		}
		c := &call{tp: x.Tape(), live: live, bound: make([]*tape.Var, len(p.steps))}
		for k, i := range idx {
			v := xs[1+k]
			if v.Len() != sizes[k] {
				panic(fmt.Sprintf("gorgonia: parameter %d has shape %v, the node %q has shape %v", k, v.Shape(), params[k].Name(), params[k].Shape()))
			}
			c.bound[i] = v
		}
		vals := make([]*tape.Var, len(p.steps))
		for i := range p.steps {
			vals[i] = p.run(c, i, x, vals)
		}
		return vals[len(vals)-1]
	}, nil
}

// paramSteps returns the step of each parameter, or the error of Func.
func (p *Program) paramSteps(params []*G.Node) ([]int, error) {
	index := make(map[*G.Node]int, len(p.steps))
	for i, s := range p.steps {
		index[s.node] = i
	}
	seen := make(map[*G.Node]int, len(params))
	out := make([]int, len(params))
	for k, n := range params {
		if n == nil {
			panic(fmt.Sprintf("gorgonia: parameter %d is nil", k))
		}
		if n == p.in {
			return nil, nodeError(n, ErrParam, "it is the program's input, xs[0]")
		}
		if j, ok := seen[n]; ok {
			return nil, nodeError(n, ErrParam, fmt.Sprintf("given twice, as parameters %d and %d", j, k))
		}
		seen[n] = k
		if dt := n.Dtype(); dt != gt.Float64 && dt != gt.Float32 {
			return nil, nodeError(n, ErrDtype, fmt.Sprintf("parameter of dtype %v; only float64 and float32 are imported", dt))
		}
		i, ok := index[n]
		if !ok {
			return nil, nodeError(n, ErrParam, "not a node of the imported program (the output does not read it, or a recognized pattern absorbed it)")
		}
		if !p.steps[i].rule.leaf {
			return nil, nodeError(n, ErrParam, "not a leaf: the program computes it from other nodes")
		}
		out[k] = i
	}
	return out, nil
}

// ParamValues returns the current values of the given leaves as float64
// invad tensors of their nodes' shapes, the values to pass the function
// Func returns: shared with Gorgonia for a float64 tensor, converted for
// float32 (ValueOf). It returns Func's errors about the nodes, and those
// of ValueOf.
func (p *Program) ParamValues(params ...*G.Node) ([]*tensor.Tensor, error) {
	if _, err := p.paramSteps(params); err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, len(params))
	for k, n := range params {
		t, err := ValueOf(n)
		if err != nil {
			return nil, err
		}
		out[k] = t
	}
	return out, nil
}

// LogAbsDetGrad returns log|det ∂F/∂x| at x and the current values of the
// graph's leaves, and its gradient with respect to x and to each of params
// (leaves, as in Func): dx has x's shape; dparams[k] is a Gorgonia tensor
// of params[k]'s shape and dtype (float32 for a float32 parameter, rank 0
// for a scalar), new memory that shares nothing with the graph, ready for
// a Gorgonia solver or an update in place once LogAbsDetGrad has returned.
// x nil means the input node's current value (InputValue).
//
// It is inverse.LogAbsDetGrad of Func(params...) at x and ParamValues
// (exact: no differences), and costs what it does: for a [B, d] batch
// stored as rows through x·W, as Gorgonia graphs usually are, the lumps
// are dense (B·d columns, at most inverse.MaxLogDetGradColors). The
// float64 values are shared with the tape while it runs, and the leaves
// are read twice: nobody may write the graph's values until it returns.
//
// It returns the errors of Func and ParamValues, of InputValue for a nil
// x, and of inverse.LogAbsDetGrad (a singular Jacobian,
// inverse.ErrNoLogDetGrad). It panics if p is nil or x has the wrong
// number of elements.
func LogAbsDetGrad(p *Program, x *tensor.Tensor, params []*G.Node, opts ...inverse.Option) (logdet float64, dx *tensor.Tensor, dparams []*gt.Dense, err error) {
	if p == nil {
		panic("gorgonia: LogAbsDetGrad of a nil Program")
	}
	f, err := p.Func(params...)
	if err != nil {
		return 0, nil, nil, err
	}
	if x == nil {
		if x, err = p.InputValue(); err != nil {
			return 0, nil, nil, err
		}
	}
	vals, err := p.ParamValues(params...)
	if err != nil {
		return 0, nil, nil, err
	}
	logdet, grads, err := inverse.LogAbsDetGrad(f, append([]*tensor.Tensor{x}, vals...), 0, opts...)
	if err != nil {
		return 0, nil, nil, err
	}
	dparams = make([]*gt.Dense, len(params))
	for k, n := range params {
		dparams[k] = DenseLike(n, grads[1+k])
	}
	return logdet, grads[0], dparams, nil
}

// DenseLike returns t, a gradient with respect to the leaf n say, as a
// Gorgonia tensor of n's shape and dtype: for a float64 node it shares t's
// elements (gtensor.ToDense), for a float32 node it holds them rounded to
// float32. It panics if n or t is nil, if t's number of elements is not
// n's, or if n is neither float64 nor float32.
func DenseLike(n *G.Node, t *tensor.Tensor) *gt.Dense {
	if n == nil || t == nil {
		panic("gorgonia: DenseLike with a nil node or tensor")
	}
	shape := shapeOf(n)
	if t.Len() != tensor.SizeOf(shape) {
		panic(fmt.Sprintf("gorgonia: a tensor of shape %v for node %q of shape %v", t.Shape(), n.Name(), shape))
	}
	if !tensor.SameShape(t.Shape(), shape) {
		t = t.Reshape(shape...)
	}
	switch dt := n.Dtype(); dt {
	case gt.Float64:
		return gtensor.ToDense(t)
	case gt.Float32:
		return gtensor.ToDense32(tensor.To32(t))
	default:
		panic(fmt.Sprintf("gorgonia: DenseLike for node %q of dtype %v", n.Name(), dt))
	}
}
