package cpu

// Transpose writes the transpose of the r×c row-major matrix src into dst
// (c×r), tile by tile so that a block of both stays in cache. dst and src
// must not overlap. It serves both dtypes of package tensor.
func Transpose[T ~float32 | ~float64](dst, src []T, r, c int) {
	const tile = 32
	for i0 := 0; i0 < r; i0 += tile {
		for j0 := 0; j0 < c; j0 += tile {
			for i := i0; i < min(i0+tile, r); i++ {
				for j := j0; j < min(j0+tile, c); j++ {
					dst[j*r+i] = src[i*c+j]
				}
			}
		}
	}
}
