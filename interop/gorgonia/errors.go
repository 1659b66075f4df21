package gorgonia

import (
	"errors"
	"fmt"
)

// The sentinel errors. Every error Import returns about a node is a
// *NodeError whose Reason is one of ErrUnsupported, ErrNoValue, ErrDtype and
// ErrShape (Program.Func's also ErrParam); errors.Is matches them through
// it.
var (
	// ErrUnsupported: the node's op has no invad counterpart (or none for
	// the way the node uses it, such as abs of a value that depends on the
	// input).
	ErrUnsupported = errors.New("unsupported Gorgonia op")
	// ErrNoValue: a variable the output reads (other than the input) has no
	// value to bind.
	ErrNoValue = errors.New("Gorgonia node has no value")
	// ErrDtype: a value is neither float64 nor float32, or cannot be read
	// from Go memory.
	ErrDtype = errors.New("Gorgonia value has an unsupported dtype")
	// ErrShape: the invad program built for a node does not have the shape
	// Gorgonia gives the node (an odd graph, or a Gorgonia upgrade that
	// changed an op's meaning).
	ErrShape = errors.New("imported node has the wrong shape")
	// ErrNotConnected: the output does not depend on the input.
	ErrNotConnected = errors.New("gorgonia: the output does not depend on the input")
	// ErrParam: a node given to Program.Func (or ParamValues,
	// LogAbsDetGrad) as a parameter is not a leaf the imported program
	// reads, is its input, or is given twice.
	ErrParam = errors.New("not a parameter of the imported program")
)

// NodeError reports a node that cannot be imported. Op and Form identify its
// op the way this package does: Op is the op's Go type as %T prints it
// ("gorgonia.elemUnaryOp"), Form its String() ("abs"). Both are empty for a
// leaf (a variable).
type NodeError struct {
	ID     int64  // the node's ID in its graph
	Name   string // the node's name, Node.Name()
	Op     string // the op's %T form, "" for a leaf
	Form   string // the op's String() form, "" for a leaf
	Reason error  // ErrUnsupported, ErrNoValue, ErrDtype, ErrShape or ErrParam
	Detail string // what exactly is wrong
}

func (e *NodeError) Error() string {
	op := "leaf"
	if e.Op != "" {
		op = fmt.Sprintf("op %s %q", e.Op, e.Form)
	}
	return fmt.Sprintf("gorgonia: node %d %q (%s): %v: %s", e.ID, e.Name, op, e.Reason, e.Detail)
}

// Unwrap returns Reason, so that errors.Is(err, ErrUnsupported) and the like
// work.
func (e *NodeError) Unwrap() error { return e.Reason }

// ValueDependentError is the panic value of Program.F when the program needs
// the value of a varying operand (a comparison mask such as x > 0 that is
// not part of a recognized ReLU) and the tape holds no values: a shape tape,
// such as the one the tapeless inverse.VIJP records first. It satisfies
// runtime.Error, which is how inverse.VIJP recognizes a function that reads
// varying values: it then returns inverse.ErrValueDependent instead of
// panicking. inverse.Linearize records values and never sees it.
type ValueDependentError struct {
	ID   int64
	Name string
	Form string
}

func (e *ValueDependentError) Error() string {
	return fmt.Sprintf("gorgonia: node %d %q (%s) needs the value of an operand that depends on the input, and the tape holds no values", e.ID, e.Name, e.Form)
}

// RuntimeError marks the error as a run-time one (runtime.Error).
func (e *ValueDependentError) RuntimeError() {}
