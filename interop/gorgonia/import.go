package gorgonia

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	gt "gorgonia.org/tensor"

	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Program is the forward subgraph of a Gorgonia graph that computes one
// output node from one input node, imported as an invad program. Its method
// F records it on an invad tape; inverse.Linearize(p.F, x) linearizes it.
// A Program is immutable and safe for concurrent use; F reads the graph's
// values at every call (see the package documentation for what it shares).
type Program struct {
	in, out  *G.Node
	inShape  []int
	outShape []int
	steps    []step // children before parents; the output last
}

// step is one node of the imported subgraph.
type step struct {
	node  *G.Node
	rule  rule
	in    []int // indices into steps of the rule's deps
	input bool
}

// OpInfo describes one imported node: the Gorgonia op it had and the invad
// program it became.
type OpInfo struct {
	ID   int64  // the node's ID in its graph
	Name string // Node.Name()
	Op   string // the op's type as %T prints it; "" for a leaf
	Form string // the op's String(); "" for a leaf
	As   string // what it was imported as: "input", "constant", "tanh", "matmul", ...
}

// Import imports the forward subgraph of g that computes output from input.
//
// It walks the nodes output depends on, stopping at input, in the
// topological order of gorgonia.Sort, reading operands through g.From.
// Nodes the output does not depend on are ignored, so a graph that
// gorgonia.Grad has extended with backward nodes imports like the forward
// graph alone. Every other leaf (a variable or a constant) becomes an invad
// constant bound to the node's value when F runs. Import checks the result
// on an invad shape tape: every imported node must have the shape Gorgonia
// gives it.
//
// It panics if g, input or output is nil, or if input or output is not a
// node of g. It returns a *NodeError wrapping ErrUnsupported for the first
// node (in topological order) whose op has no invad counterpart, naming the
// node and its op's %T and String() forms; ErrNoValue or ErrDtype for a leaf
// without a float64 or float32 value, or an input of another dtype;
// ErrShape where the imported shapes disagree with Gorgonia's; and
// ErrNotConnected if output does not depend on input.
func Import(g *G.ExprGraph, input, output *G.Node) (*Program, error) {
	if g == nil || input == nil || output == nil {
		panic("gorgonia: Import with a nil graph or node")
	}
	for _, n := range []*G.Node{input, output} {
		if gn := g.Node(n.ID()); gn == nil || gn.(*G.Node) != n {
			panic(fmt.Sprintf("gorgonia: node %q is not in the graph", n.Name()))
		}
	}
	if dt := input.Dtype(); dt != gt.Float64 && dt != gt.Float32 {
		return nil, nodeError(input, ErrDtype, fmt.Sprintf("input of dtype %v; only float64 and float32 are imported", dt))
	}

	// The nodes the output needs, with their rules.
	rules := map[*G.Node]rule{}
	errs := map[*G.Node]*NodeError{}
	for stack := []*G.Node{output}; len(stack) > 0; {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := rules[n]; ok || errs[n] != nil {
			continue
		}
		if n == input {
			rules[n] = rule{as: "input"}
			continue
		}
		r, err := identify(g, n)
		if err != nil {
			errs[n] = err
			stack = append(stack, children(g, n)...)
			continue
		}
		rules[n] = r
		stack = append(stack, r.deps...)
	}

	// Children first, in gorgonia.Sort's order reversed.
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("gorgonia: sorting the graph: %w", err)
	}
	p := &Program{in: input, out: output, inShape: shapeOf(input), outShape: shapeOf(output)}
	index := map[*G.Node]int{}
	for i := len(sorted) - 1; i >= 0; i-- {
		n := sorted[i]
		if err := errs[n]; err != nil {
			return nil, err
		}
		r, ok := rules[n]
		if !ok {
			continue
		}
		s := step{node: n, rule: r, input: n == input}
		for _, d := range r.deps {
			j, ok := index[d]
			if !ok {
				return nil, fmt.Errorf("gorgonia: gorgonia.Sort put node %d %q before its operand %d %q", n.ID(), n.Name(), d.ID(), d.Name())
			}
			s.in = append(s.in, j)
		}
		index[n] = len(p.steps)
		p.steps = append(p.steps, s)
	}
	if len(p.steps) != len(rules) || p.steps[len(p.steps)-1].node != output {
		return nil, fmt.Errorf("gorgonia: gorgonia.Sort listed %d of the %d nodes the output needs", len(p.steps), len(rules))
	}

	// Which nodes vary with the input, and the checks that depend on it.
	varying := make([]bool, len(p.steps))
	for i, s := range p.steps {
		varying[i] = s.input
		for _, j := range s.in {
			varying[i] = varying[i] || varying[j]
		}
	}
	if !varying[len(p.steps)-1] {
		return nil, fmt.Errorf("%w: output %d %q, input %d %q", ErrNotConnected, output.ID(), output.Name(), input.ID(), input.Name())
	}
	vary := func(n *G.Node) bool { return varying[index[n]] }
	for _, s := range p.steps {
		if s.rule.check != nil {
			if why := s.rule.check(vary); why != "" {
				return nil, unsupported(s.node, "%s", why)
			}
		}
		if s.rule.leaf {
			if _, err := ValueOf(s.node); err != nil {
				return nil, err
			}
		}
	}
	if err := p.dryRun(nil, nil); err != nil {
		return nil, err
	}
	return p, nil
}

// dryRun runs the program on a shape tape and checks every node's shape;
// the steps in params are inputs there, and live is as in call.
func (p *Program) dryRun(params []int, live []bool) error {
	tp := tape.NewShapeTape()
	x := tp.Input(tensor.Zeros(p.inShape...))
	c := &call{tp: tp, dry: true, live: live}
	if params != nil {
		c.bound = make([]*tape.Var, len(p.steps))
		for _, i := range params {
			c.bound[i] = tp.Input(tensor.Zeros(shapeOf(p.steps[i].node)...))
		}
	}
	vals := make([]*tape.Var, len(p.steps))
	for i, s := range p.steps {
		v, msg := p.safeRun(c, i, x, vals)
		if msg != "" {
			return nodeError(s.node, ErrShape, msg)
		}
		if want := shapeOf(s.node); !tensor.SameShape(v.Shape(), want) {
			return nodeError(s.node, ErrShape, fmt.Sprintf("imported as a value of shape %v, Gorgonia's shape is %v", v.Shape(), want))
		}
		vals[i] = v
	}
	return nil
}

// safeRun runs one step, turning a panic into a message.
func (p *Program) safeRun(c *call, i int, x *tape.Var, vals []*tape.Var) (v *tape.Var, msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	return p.run(c, i, x, vals), ""
}

// run runs step i, whose operands are in vals, on x.
func (p *Program) run(c *call, i int, x *tape.Var, vals []*tape.Var) *tape.Var {
	s := p.steps[i]
	c.step = i
	if s.input {
		return reshapeTo(x, p.inShape)
	}
	if c.bound != nil && c.bound[i] != nil {
		return reshapeTo(c.bound[i], shapeOf(s.node))
	}
	in := make([]*tape.Var, len(s.in))
	for k, j := range s.in {
		in[k] = vals[j]
	}
	return s.rule.run(c, in)
}

// F records the imported program on x's tape and returns the output node's
// value, with the output node's shape. x must have as many elements as the
// input node; it is reshaped to the input node's shape. F reads the current
// values of the graph's other leaves (see the package documentation).
//
// F panics if x is nil or has the wrong number of elements, or if a leaf has
// lost its value since Import (messages start with "gorgonia: "). On a
// shape tape (no values), a program that holds a comparison mask of a
// varying value panics with a *ValueDependentError, which the tapeless
// inverse.VIJP reports as inverse.ErrValueDependent.
func (p *Program) F(x *tape.Var) *tape.Var {
	if x == nil {
		panic("gorgonia: F(nil)")
	}
	if n := tensor.SizeOf(p.inShape); x.Len() != n {
		panic(fmt.Sprintf("gorgonia: x has shape %v, the input node %q has shape %v", x.Shape(), p.in.Name(), p.inShape))
	}
	c := &call{tp: x.Tape()}
	vals := make([]*tape.Var, len(p.steps))
	for i := range p.steps {
		vals[i] = p.run(c, i, x, vals)
	}
	return vals[len(vals)-1]
}

// InputValue returns the input node's current value as a float64 invad
// tensor (shared with Gorgonia for a float64 tensor; converted for float32),
// a convenient point to linearize at. It returns the errors of ValueOf.
func (p *Program) InputValue() (*tensor.Tensor, error) { return ValueOf(p.in) }

// InputShape and OutputShape are the shapes of the input and output nodes
// (rank 0 for a Gorgonia scalar). The caller must not modify them.
func (p *Program) InputShape() []int  { return p.inShape }
func (p *Program) OutputShape() []int { return p.outShape }

// Ops lists the imported nodes in the order F runs them: every node after
// its operands, the output last. The nodes a recognized pattern absorbs (the
// comparison inside a ReLU) and the size operands of repeats are not listed.
func (p *Program) Ops() []OpInfo {
	out := make([]OpInfo, len(p.steps))
	for i, s := range p.steps {
		oi := OpInfo{ID: s.node.ID(), Name: s.node.Name(), As: s.rule.as}
		if op := s.node.Op(); op != nil {
			oi.Op, oi.Form = typeOf(op), formOf(op)
		}
		out[i] = oi
	}
	return out
}
