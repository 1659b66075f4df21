package cpu

import "testing"

// TestTranspose against the definition, on shapes around the tile size.
func TestTranspose(t *testing.T) {
	for _, rc := range [][2]int{{1, 1}, {1, 7}, {7, 1}, {31, 33}, {64, 65}, {100, 3}} {
		r, c := rc[0], rc[1]
		src := make([]float64, r*c)
		for i := range src {
			src[i] = float64(i)
		}
		dst := make([]float64, r*c)
		Transpose(dst, src, r, c)
		for i := range r {
			for j := range c {
				if dst[j*r+i] != src[i*c+j] {
					t.Fatalf("%d×%d: dst[%d, %d] = %g, want %g", r, c, j, i, dst[j*r+i], src[i*c+j])
				}
			}
		}
	}
}
