package inverse_test

import (
	"testing"

	"github.com/invad/invad/catalog"
	"github.com/invad/invad/inverse"
)

// TestOnProgress: the analysis is reported begun and done, then the
// factorization up to its last lump, which is the number of lumps.
func TestOnProgress(t *testing.T) {
	var seen []inverse.Progress
	x := catalog.Uniform([]int{48}, -1, 1, 1)
	lin, err := inverse.Linearize(catalog.MustGet("coupling").Build(48), x, inverse.OnProgress(func(p inverse.Progress) { seen = append(seen, p) }))
	if err != nil {
		t.Fatal(err)
	}
	lumps, err := lin.Lumps()
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) < 3 {
		t.Fatalf("progress %+v: want the analysis begun and done and the factorization", seen)
	}
	if a, b := seen[0], seen[1]; a.Stage != "analysis" || a.Done != 0 || b.Stage != "analysis" || b.Done != 1 {
		t.Errorf("first two reports %+v, %+v: want the analysis begun and done", a, b)
	}
	last := seen[len(seen)-1]
	if last.Stage != "factorization" || last.Done != len(lumps) || last.Total != len(lumps) {
		t.Errorf("last report %+v, want factorization %d of %d", last, len(lumps), len(lumps))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Elapsed < seen[i-1].Elapsed {
			t.Errorf("elapsed times go back: %+v", seen)
		}
	}
}
