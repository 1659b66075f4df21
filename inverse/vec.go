package inverse

import "github.com/invad/invad/cpu"

// Vector kernels of the sweeps, elementwise (so their results do not depend
// on the split), run over the cores for long vectors by cpu.For. Below
// cpu.Grain they run inline: no closure is made, so a product on small
// vectors allocates nothing here.

// vclear sets b to zero.
func vclear(b []float64) {
	if len(b) < cpu.Grain {
		clear(b)
		return
	}
	cpu.For(len(b), func(lo, hi int) { clear(b[lo:hi]) })
}

// vsubFrom sets r = b − r; b has r's length.
func vsubFrom(r, b []float64) {
	b = b[:len(r)]
	if len(r) < cpu.Grain {
		subFrom(r, b)
		return
	}
	cpu.For(len(r), func(lo, hi int) { subFrom(r[lo:hi], b[lo:hi]) })
}

func subFrom(r, b []float64) {
	b = b[:len(r)]
	for i, v := range b {
		r[i] = v - r[i]
	}
}

// vscaleTo sets dst = a·src; src has dst's length. dst may be src.
func vscaleTo(dst []float64, a float64, src []float64) {
	src = src[:len(dst)]
	if len(dst) < cpu.Grain {
		scaleTo(dst, a, src)
		return
	}
	cpu.For(len(dst), func(lo, hi int) { scaleTo(dst[lo:hi], a, src[lo:hi]) })
}

func scaleTo(d []float64, a float64, s []float64) {
	s = s[:len(d)]
	for i, v := range s {
		d[i] = a * v
	}
}

// vaxpy adds a·src to acc; src has acc's length. a = ±1 adds or subtracts
// exactly.
func vaxpy(acc []float64, a float64, src []float64) {
	src = src[:len(acc)]
	if len(acc) < cpu.Grain {
		axpy(acc, a, src)
		return
	}
	cpu.For(len(acc), func(lo, hi int) { axpy(acc[lo:hi], a, src[lo:hi]) })
}

func axpy(d []float64, a float64, s []float64) {
	s = s[:len(d)]
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
}
