// Package inversetest holds the test programs of package inverse: composed
// programs f: Rⁿ → Rⁿ covering every lump kind, each with its domain and
// its expected lump report. Package inverse's tests check the CPU backend
// on them, package cuda's the device backend against the CPU.
//
// The programs live in package catalog (its Inverse table); this package
// hands them out in the form the tests use.
package inversetest

import (
	"github.com/invad/invad/catalog"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Program is a test program f: Rⁿ → Rⁿ with a point to linearize it at.
type Program struct {
	Name   string
	Reason string
	Shape  []int
	Lo, Hi float64 // the domain x is drawn from
	F      func(x *tape.Var) *tape.Var
	// Lumps is the expected lump report, as kind:count pairs in
	// alphabetical order ("batch:1 copy:2"), worked out by hand from the
	// program's structure.
	Lumps string
}

// Matrix returns a seeded r×c matrix with entries in [-1, 1), plus diag on
// the diagonal so square ones are well conditioned (catalog.Matrix).
func Matrix(seed uint64, r, c int, diag float64) *tensor.Tensor {
	return catalog.Matrix(seed, r, c, diag)
}

// Programs returns the shared table of composed programs: the programs of
// package inverse's tests, which package cuda also runs on the device
// (catalog.In(catalog.Inverse), in its order).
func Programs() []Program {
	var out []Program
	for _, p := range catalog.In(catalog.Inverse) {
		out = append(out, Program{Name: p.Name, Reason: p.About, Shape: p.Shape, Lo: p.Lo, Hi: p.Hi, F: p.F, Lumps: p.Lumps})
	}
	return out
}

// Point draws x for a program from its domain, seeded (catalog.Uniform).
func Point(p Program, seed uint64) *tensor.Tensor { return catalog.Uniform(p.Shape, p.Lo, p.Hi, seed) }
