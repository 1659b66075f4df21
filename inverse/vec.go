package inverse

import "github.com/invad/invad/cpu"

// Vector kernels of the sweeps, elementwise (so their results do not depend
// on the split), run over the cores for long vectors by cpu.For.

// vclear sets b to zero.
func vclear(b []float64) {
	cpu.For(len(b), func(lo, hi int) { clear(b[lo:hi]) })
}

// vsubFrom sets r = b − r; b has r's length.
func vsubFrom(r, b []float64) {
	b = b[:len(r)]
	cpu.For(len(r), func(lo, hi int) {
		for i, v := range b[lo:hi] {
			r[lo+i] = v - r[lo+i]
		}
	})
}

// vscaleTo sets dst = a·src; src has dst's length. dst may be src.
func vscaleTo(dst []float64, a float64, src []float64) {
	src = src[:len(dst)]
	cpu.For(len(dst), func(lo, hi int) {
		d := dst[lo:hi]
		for i, v := range src[lo:hi] {
			d[i] = a * v
		}
	})
}

// vaxpy adds a·src to acc; src has acc's length. a = ±1 adds or subtracts
// exactly.
func vaxpy(acc []float64, a float64, src []float64) {
	src = src[:len(acc)]
	cpu.For(len(acc), func(lo, hi int) {
		d := acc[lo:hi]
		s := src[lo:hi]
		switch a {
		case 1:
			for i, v := range s {
				d[i] += v
			}
		case -1:
			for i, v := range s {
				d[i] -= v
			}
		default:
			for i, v := range s {
				d[i] += a * v
			}
		}
	})
}
