package graph_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/invad/invad/internal/graph"
)

// sorted returns the components with their vertices in increasing order,
// keeping the order of the components.
func sorted(comps [][]int) [][]int {
	out := make([][]int, len(comps))
	for i, c := range comps {
		out[i] = slices.Sorted(slices.Values(c))
	}
	return out
}

// checkOrder checks that the components partition the vertices and come
// in reverse topological order: for every edge u → v, v's component is
// listed no later than u's.
func checkOrder(t *testing.T, succ [][]int, comps [][]int) {
	t.Helper()
	of := make([]int, len(succ))
	for i := range of {
		of[i] = -1
	}
	for ci, c := range comps {
		for _, v := range c {
			if of[v] >= 0 {
				t.Fatalf("vertex %d in components %d and %d", v, of[v], ci)
			}
			of[v] = ci
		}
	}
	for v, ci := range of {
		if ci < 0 {
			t.Fatalf("vertex %d in no component", v)
		}
	}
	for u, ws := range succ {
		for _, w := range ws {
			if of[w] > of[u] {
				t.Errorf("edge %d → %d: component %d listed before %d", u, w, of[u], of[w])
			}
		}
	}
}

func TestSCC(t *testing.T) {
	for _, c := range []struct {
		name string
		succ [][]int
		want [][]int
	}{
		{"empty", nil, nil},
		{"one vertex", [][]int{nil}, [][]int{{0}}},
		{"self loop", [][]int{{0}}, [][]int{{0}}},
		{"cycle", [][]int{{1}, {2}, {0}}, [][]int{{0, 1, 2}}},
		{"chain", [][]int{{1}, {2}, nil}, [][]int{{2}, {1}, {0}}},
		{"chain backwards", [][]int{nil, {0}, {1}}, [][]int{{0}, {1}, {2}}},
		// {0,1} → {2,3}: the component the edge goes into comes first.
		{"two cycles, edge forward", [][]int{{1}, {0, 2}, {3}, {2}}, [][]int{{2, 3}, {0, 1}}},
		// {2,3} → {0,1}: visited from 0 first, {0,1} is already listed.
		{"two cycles, edge backward", [][]int{{1}, {0}, {3}, {2, 0}}, [][]int{{0, 1}, {2, 3}}},
		{"two cycles, no edge", [][]int{{1}, {0}, {3}, {2}}, [][]int{{0, 1}, {2, 3}}},
		// A diamond 0 → {1, 2} → 3 with a cycle 1 ↔ 2.
		{"diamond", [][]int{{1, 2}, {2, 3}, {1, 3}, nil}, [][]int{{3}, {1, 2}, {0}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := graph.SCC(c.succ)
			checkOrder(t, c.succ, got)
			if g := sorted(got); fmt.Sprint(g) != fmt.Sprint(c.want) {
				t.Errorf("SCC = %v, want %v", g, c.want)
			}
			// Deterministic: the same graph gives the same components in
			// the same order, vertices included.
			if again := graph.SCC(c.succ); fmt.Sprint(again) != fmt.Sprint(got) {
				t.Errorf("second call = %v, first %v", again, got)
			}
		})
	}
}

// TestSCCDeep runs a long chain and a long cycle: the depth-first search
// keeps its own stack, so the depth costs no goroutine stack.
func TestSCCDeep(t *testing.T) {
	const n = 1 << 17
	chain := make([][]int, n)
	for v := range n - 1 {
		chain[v] = []int{v + 1}
	}
	comps := graph.SCC(chain)
	if len(comps) != n || comps[0][0] != n-1 || comps[n-1][0] != 0 {
		t.Errorf("chain of %d: %d components, first %v, last %v", n, len(comps), comps[0], comps[len(comps)-1])
	}
	chain[n-1] = []int{0}
	if comps := graph.SCC(chain); len(comps) != 1 || len(comps[0]) != n {
		t.Errorf("cycle of %d: %d components", n, len(comps))
	}
}
