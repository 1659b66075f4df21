// Package catalog holds invad's example programs f: Rⁿ → Rⁿ once, for every
// part of the repository that runs them: the tests of package inverse (and,
// through package inversetest, package cuda's), the lump finder's tests
// against the scalar oracle (packages lump and lumptest), `invad explain`
// and `invad demo`, the benchmarks of package bench and the examples.
//
// A Program is either fixed-shape (F at Shape, with its expected lump report
// in Lumps where one is pinned) or sized (Build makes f at any admissible n;
// Shape is then a default size for tests). Sets records which consumers run
// a program; In lists one consumer's programs in catalogue order.
//
// Nothing here may change a program's math, shape, constants or seeds: the
// tests compare against fixed expectations (lump reports, the demo's known
// root, the benchmark problems that bench/torch_bench.py rebuilds).
//
// The package sits at the bottom of the module with ops: it imports only
// ops, tape and tensor.
package catalog

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// Set names one consumer of the catalogue.
type Set string

// The consumers of the catalogue.
const (
	// Inverse is the table of package inverse's tests (inversetest.Programs),
	// which package cuda also runs on the device. Its order is part of the
	// table: tests pick programs by index. Every member pins its lump report.
	Inverse Set = "inverse"
	// Scalar is the table of lumptest's numerical checks of the scalar
	// oracle against dense LU.
	Scalar Set = "scalar"
	// Oracle is the table of lump's comparison of Analyze with the scalar
	// oracle; the structurally singular members (Singular) are compared on
	// their deficiency.
	Oracle Set = "oracle"
	// Explain is the programs of `invad explain -program NAME`, built at
	// any even n by Build.
	Explain Set = "explain"
	// Bench is the programs of package bench's benchmarks and comparison
	// families, built at any admissible n by Build.
	Bench Set = "bench"
)

// Program is a program f: Rⁿ → Rⁿ of the catalogue.
type Program struct {
	// Name is unique in the catalogue.
	Name string
	// About says in one line what the program is or why it is here.
	About string
	// Shape is x's shape: the program's own for a fixed-shape program, a
	// default size for a sized one.
	Shape []int
	// Lo, Hi bound the domain that Point draws x from.
	Lo, Hi float64
	// F is f. A fixed-shape program takes x of Shape; for a sized program F
	// is Build at x's length.
	F func(x *tape.Var) *tape.Var
	// Build, set for sized programs only, returns f at n elements; it
	// panics if the program does not take n.
	Build func(n int) func(x *tape.Var) *tape.Var
	// Lumps is the expected lump report at Shape, kind:count pairs in
	// alphabetical order ("batch:1 copy:2"), worked out by hand from the
	// program's structure; empty where none is pinned.
	Lumps string
	// Singular is set when J is structurally singular: no lumps exist.
	Singular bool
	// Sets are the consumers that run the program.
	Sets []Set
}

// Len is the number of elements of x at Shape.
func (p Program) Len() int { return tensor.SizeOf(p.Shape) }

// Sized reports whether the program is built at any admissible n.
func (p Program) Sized() bool { return p.Build != nil }

// At returns f at n elements: Build(n) for a sized program, F for a
// fixed-shape one if n is its size. It panics otherwise.
func (p Program) At(n int) func(x *tape.Var) *tape.Var {
	if p.Build != nil {
		return p.Build(n)
	}
	if n != p.Len() {
		panic(fmt.Sprintf("catalog: program %q has %d elements, not %d", p.Name, p.Len(), n))
	}
	return p.F
}

// In reports whether the program belongs to set s.
func (p Program) In(s Set) bool { return slices.Contains(p.Sets, s) }

// Point draws x of Shape from [Lo, Hi), seeded: Uniform(p.Shape, p.Lo,
// p.Hi, seed).
func (p Program) Point(seed uint64) *tensor.Tensor { return Uniform(p.Shape, p.Lo, p.Hi, seed) }

// Uniform draws a tensor of the given shape with entries in [lo, hi) from
// a generator seeded by seed (the points of the test tables).
func Uniform(shape []int, lo, hi float64, seed uint64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := tensor.Zeros(shape...)
	for i := range x.Data() {
		x.Data()[i] = lo + (hi-lo)*rng.Float64()
	}
	return x
}

// catalogue is every program, in order: the Inverse table first, in its
// order, then the other test programs, the explain programs and the
// benchmark programs.
var catalogue = register(testPrograms, oraclePrograms, explainPrograms, benchPrograms)

// byName indexes the catalogue by name (the first program of a name).
var byName = func() map[string]int {
	m := make(map[string]int, len(catalogue))
	for i, p := range catalogue {
		if _, dup := m[p.Name]; !dup {
			m[p.Name] = i
		}
	}
	return m
}()

// register concatenates the tables and gives every sized program its F.
func register(tables ...[]Program) []Program {
	all := slices.Concat(tables...)
	for i := range all {
		if p := &all[i]; p.F == nil && p.Build != nil {
			build := p.Build
			p.F = func(x *tape.Var) *tape.Var { return build(x.Len())(x) }
		}
	}
	return all
}

// clone copies p's slices, so that callers cannot change the catalogue.
func clone(p Program) Program {
	p.Shape = slices.Clone(p.Shape)
	p.Sets = slices.Clone(p.Sets)
	return p
}

// All returns every program of the catalogue, in catalogue order.
func All() []Program {
	out := make([]Program, len(catalogue))
	for i, p := range catalogue {
		out[i] = clone(p)
	}
	return out
}

// In returns the programs of set s, in catalogue order.
func In(s Set) []Program {
	var out []Program
	for _, p := range catalogue {
		if p.In(s) {
			out = append(out, clone(p))
		}
	}
	return out
}

// Get returns the program called name.
func Get(name string) (Program, bool) {
	i, ok := byName[name]
	if !ok {
		return Program{}, false
	}
	return clone(catalogue[i]), true
}

// MustGet returns the program called name; it panics if there is none.
func MustGet(name string) Program {
	p, ok := Get(name)
	if !ok {
		panic(fmt.Sprintf("catalog: no program %q", name))
	}
	return p
}

// Names returns the names of the programs of set s, in catalogue order.
func Names(s Set) []string {
	var out []string
	for _, p := range catalogue {
		if p.In(s) {
			out = append(out, p.Name)
		}
	}
	return out
}
