package lumptest

import "math"

// maxMatching returns a maximum matching of the bipartite graph whose left
// vertices (rows) have the right vertices (columns, 0 ≤ c < ncols) listed in
// adj. matchRow[r] is r's column or -1, matchCol[c] is c's row or -1. It is
// Hopcroft–Karp after a greedy start: O(E √V).
func maxMatching(adj [][]int, ncols int) (matchRow, matchCol []int, size int) {
	nrows := len(adj)
	matchRow = make([]int, nrows)
	matchCol = make([]int, ncols)
	for i := range matchRow {
		matchRow[i] = -1
	}
	for i := range matchCol {
		matchCol[i] = -1
	}
	for r, cs := range adj {
		for _, c := range cs {
			if matchCol[c] < 0 {
				matchRow[r], matchCol[c] = c, r
				size++
				break
			}
		}
	}
	const inf = math.MaxInt
	dist := make([]int, nrows)
	next := make([]int, nrows) // per row: the next entry of adj[r] to try in this phase
	queue := make([]int, 0, nrows)

	// augment looks for an augmenting path from row r along the BFS layers.
	var augment func(r int) bool
	augment = func(r int) bool {
		for ; next[r] < len(adj[r]); next[r]++ {
			c := adj[r][next[r]]
			r2 := matchCol[c]
			if r2 < 0 || (dist[r2] == dist[r]+1 && augment(r2)) {
				matchRow[r], matchCol[c] = c, r
				next[r]++
				return true
			}
		}
		dist[r] = inf // dead end for the rest of the phase
		return false
	}

	for {
		// Layer the rows by alternating distance from the free rows.
		queue = queue[:0]
		for r := range dist {
			if matchRow[r] < 0 {
				dist[r] = 0
				queue = append(queue, r)
			} else {
				dist[r] = inf
			}
		}
		found := false
		for qi := 0; qi < len(queue); qi++ {
			r := queue[qi]
			for _, c := range adj[r] {
				r2 := matchCol[c]
				switch {
				case r2 < 0:
					found = true
				case dist[r2] == inf:
					dist[r2] = dist[r] + 1
					queue = append(queue, r2)
				}
			}
		}
		if !found {
			return matchRow, matchCol, size
		}
		clear(next)
		for r := range adj {
			if matchRow[r] < 0 && augment(r) {
				size++
			}
		}
	}
}

// alternatingReach marks the rows and columns reachable from the unmatched
// rows by alternating paths (any edge from a row to a column, the matching
// edge from a column back to its row). By König's theorem the unreached
// rows together with the reached columns form a minimum vertex cover.
func alternatingReach(adj [][]int, matchRow, matchCol []int) (rowIn, colIn []bool) {
	rowIn = make([]bool, len(adj))
	colIn = make([]bool, len(matchCol))
	var queue []int
	for r := range adj {
		if matchRow[r] < 0 {
			rowIn[r] = true
			queue = append(queue, r)
		}
	}
	for qi := 0; qi < len(queue); qi++ {
		for _, c := range adj[queue[qi]] {
			if colIn[c] {
				continue
			}
			colIn[c] = true
			if r2 := matchCol[c]; r2 >= 0 && !rowIn[r2] {
				rowIn[r2] = true
				queue = append(queue, r2)
			}
		}
	}
	return rowIn, colIn
}
