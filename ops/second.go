package ops

import "github.com/invad/invad/tape"

// Every op type of the package has its second-order rule (see the package
// documentation, Second order); the conformance suite checks each one
// against finite differences of its JVP.
var (
	_ tape.SecondOrder = (*Elementwise)(nil)
	_ tape.SecondOrder = (*Binary)(nil)
	_ tape.SecondOrder = matMul{}
	_ tape.SecondOrder = batchMatMul{}
	_ tape.SecondOrder = (*ReshapeOp)(nil)
	_ tape.SecondOrder = (*SliceOp)(nil)
	_ tape.SecondOrder = concat{}
	_ tape.SecondOrder = cumsum{}
	_ tape.SecondOrder = sum{}
	_ tape.SecondOrder = (*PermuteOp)(nil)
	_ tape.SecondOrder = (*SliceAxisOp)(nil)
	_ tape.SecondOrder = (*ConcatAxisOp)(nil)
	_ tape.SecondOrder = (*SumAxisOp)(nil)
)
