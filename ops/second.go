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

// Every op type of the package has its float32 rules (tape.Op32); the
// conformance suite checks them against the float64 ones.
var (
	_ tape.Op32 = (*Elementwise)(nil)
	_ tape.Op32 = (*Binary)(nil)
	_ tape.Op32 = matMul{}
	_ tape.Op32 = batchMatMul{}
	_ tape.Op32 = (*ReshapeOp)(nil)
	_ tape.Op32 = (*SliceOp)(nil)
	_ tape.Op32 = concat{}
	_ tape.Op32 = cumsum{}
	_ tape.Op32 = sum{}
	_ tape.Op32 = (*PermuteOp)(nil)
	_ tape.Op32 = (*SliceAxisOp)(nil)
	_ tape.Op32 = (*ConcatAxisOp)(nil)
	_ tape.Op32 = (*SumAxisOp)(nil)
)
