package catalog_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// TestProgramsBuild: every program records on a shape tape at its default
// shape and maps n elements to n (a sized one through F and through Build).
func TestProgramsBuild(t *testing.T) {
	for _, p := range catalog.All() {
		t.Run(p.Name, func(t *testing.T) {
			if len(p.Shape) == 0 || p.Len() <= 0 {
				t.Fatalf("shape %v", p.Shape)
			}
			fs := map[string]func(*tape.Var) *tape.Var{"F": p.F, "At": p.At(p.Len())}
			if p.Sized() {
				fs["Build"] = p.Build(p.Len())
			}
			for how, f := range fs {
				if f == nil {
					t.Fatalf("%s is nil", how)
				}
				tp := tape.NewShapeTape()
				in := tp.Input(tensor.Zeros(p.Shape...))
				out := f(in)
				if out == nil || out.Len() != in.Len() {
					t.Fatalf("%s maps %d elements to %v", how, in.Len(), out)
				}
				tp.Finish(in, out)
			}
		})
	}
}

// TestProgramsDeterministic: two runs of a program at its point give the
// same values bit for bit (every constant is seeded).
func TestProgramsDeterministic(t *testing.T) {
	for _, p := range catalog.All() {
		x := p.Point(1)
		run := func() []float64 {
			return p.F(tape.NewTape().Input(x.Clone())).Value().Clone().Data()
		}
		if a, b := run(), run(); !slices.Equal(a, b) {
			t.Errorf("%s: two runs differ", p.Name)
		}
	}
}

// TestNamesAndFields: names are unique and Get finds each program; every
// program says what it is in one line and serves some consumer; the
// Inverse table pins a well-formed lump report for every member.
func TestNamesAndFields(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range catalog.All() {
		if p.Name == "" || seen[p.Name] {
			t.Errorf("name %q is empty or not unique", p.Name)
		}
		seen[p.Name] = true
		if q, ok := catalog.Get(p.Name); !ok || q.Name != p.Name {
			t.Errorf("Get(%q) = %q, %v", p.Name, q.Name, ok)
		}
		if p.Lumps != "" && strings.TrimSpace(p.About) == "" {
			t.Errorf("%s has an expected lump report but no About", p.Name)
		}
		if strings.TrimSpace(p.About) == "" || strings.Contains(p.About, "\n") {
			t.Errorf("%s: About %q is not one line", p.Name, p.About)
		}
		if len(p.Sets) == 0 {
			t.Errorf("%s is in no set", p.Name)
		}
		if !(p.Lo < p.Hi) {
			t.Errorf("%s: empty domain [%v, %v)", p.Name, p.Lo, p.Hi)
		}
		if p.Lumps != "" {
			checkLumps(t, p)
		}
		if (p.In(catalog.Explain) || p.In(catalog.Bench)) && !p.Sized() {
			t.Errorf("%s: an explain or bench program must be sized", p.Name)
		}
	}
	if _, ok := catalog.Get("no such program"); ok {
		t.Errorf("Get found a program that does not exist")
	}
	inv := catalog.In(catalog.Inverse)
	if len(inv) != 28 {
		t.Errorf("the Inverse table has %d programs, want 28", len(inv))
	}
	for _, p := range inv {
		if p.Lumps == "" || p.Sized() || p.Singular {
			t.Errorf("%s: an Inverse program is fixed-shape, invertible and pins its lumps", p.Name)
		}
	}
	// Tests pick Inverse programs by index: the head of the table is fixed.
	if got := catalog.Names(catalog.Inverse)[:6]; !slices.Equal(got, []string{"exp2tanh", "x+sin(x)", "x*x", "Wx", "XW", "coupling-small"}) {
		t.Errorf("the Inverse table starts %v", got)
	}
	want := []string{"bratu-1d", "chains", "coupling", "exp-tanh", "rotation", "singular", "wx", "x-sin"}
	if got := slices.Sorted(slices.Values(catalog.Names(catalog.Explain))); !slices.Equal(got, want) {
		t.Errorf("explain programs %v, want %v", got, want)
	}
}

// checkLumps checks that a lump report is kind:count pairs in alphabetical
// order of kinds, with positive counts.
func checkLumps(t *testing.T, p catalog.Program) {
	t.Helper()
	var kinds []string
	for _, f := range strings.Fields(p.Lumps) {
		k, c, ok := strings.Cut(f, ":")
		n, err := strconv.Atoi(c)
		if !ok || k == "" || err != nil || n <= 0 {
			t.Errorf("%s: lump report %q: bad pair %q", p.Name, p.Lumps, f)
		}
		kinds = append(kinds, k)
	}
	if !slices.IsSorted(kinds) || len(slices.Compact(slices.Clone(kinds))) != len(kinds) {
		t.Errorf("%s: lump report %q is not in alphabetical order of kinds", p.Name, p.Lumps)
	}
}

// TestPoint: points have the program's shape, lie in its domain, and
// depend on the seed alone.
func TestPoint(t *testing.T) {
	for _, p := range catalog.All() {
		x := p.Point(7)
		if !slices.Equal(x.Shape(), p.Shape) {
			t.Fatalf("%s: point of shape %v, want %v", p.Name, x.Shape(), p.Shape)
		}
		for _, v := range x.Data() {
			if v < p.Lo || v >= p.Hi {
				t.Fatalf("%s: %v outside [%v, %v)", p.Name, v, p.Lo, p.Hi)
			}
		}
		if !slices.Equal(x.Data(), p.Point(7).Data()) || slices.Equal(x.Data(), p.Point(8).Data()) {
			t.Errorf("%s: Point is not a function of the seed", p.Name)
		}
	}
}

// TestAtChecksSize: a fixed-shape program refuses another size; a sized one
// that needs multiples refuses the rest.
func TestAtChecksSize(t *testing.T) {
	panics := func(f func()) (msg string) {
		defer func() { msg = fmt.Sprint(recover()) }()
		f()
		return ""
	}
	if msg := panics(func() { catalog.MustGet("Wx").At(7) }); !strings.HasPrefix(msg, "catalog: ") {
		t.Errorf("Wx at 7: panic %q", msg)
	}
	if msg := panics(func() { catalog.MustGet("coupling").At(24) }); !strings.HasPrefix(msg, "catalog: ") {
		t.Errorf("coupling at 24: panic %q", msg)
	}
	if msg := panics(func() { catalog.MustGet("nope") }); !strings.HasPrefix(msg, "catalog: ") {
		t.Errorf("MustGet(nope): panic %q", msg)
	}
}

// TestCatalogueIsACopy: callers cannot change the catalogue through what
// All, In and Get return.
func TestCatalogueIsACopy(t *testing.T) {
	p := catalog.All()[0]
	p.Shape[0] = 1000
	p.Sets[0] = "changed"
	if q := catalog.MustGet(p.Name); q.Shape[0] == 1000 || q.Sets[0] == "changed" {
		t.Errorf("All shares the catalogue's slices")
	}
}

// TestCouplingPlain: the plain-Go coupling layer computes what the recorded
// one does.
func TestCouplingPlain(t *testing.T) {
	const n = 4 * catalog.CouplingHalf
	x := catalog.Uniform([]int{n}, -1, 1, 3)
	y := catalog.Coupling(n)(tape.NewTape().Input(x)).Value().Data()
	want, _ := catalog.CouplingPlain(x.Data())
	for i := range want {
		if d := y[i] - want[i]; d > 1e-12 || d < -1e-12 {
			t.Fatalf("element %d: recorded %v, plain %v", i, y[i], want[i])
		}
	}
}
