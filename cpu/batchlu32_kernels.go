package cpu

import "math"

// The kernels of BatchLU32: the kernels of BatchLU (batchlu_kernels.go) in
// float32, with the same pivot order, the same unrolling and tiling, and the
// same rule that a block's inputs are all read before any output is written.
// They are written out, not shared with float64's as generic code: those keep
// maxima of |x| as integer maxima of Float64bits (ab), which a type parameter
// cannot express without a run-time switch in the inner loops. They are
// hand-written at all because no Go library has them: gonum has no float32
// LAPACK (lapack64 only) and no batched LU. The solves are shared (generic
// methods of batchLU), and so is trailingUpdate.
//
// Pivot tests and growth factors follow the float64 kernels with RCondMin32
// and BatchGrowthMax32; growth factors are reported in float64, and log|det|
// is accumulated in float64 from the float32 pivots.

func (f *BatchLU32) factor1(a []float32, lo, hi int, c *batchChunk) {
	src, dst := a[lo:hi], f.lu[lo:hi]
	dst = dst[:len(src)]
	for t, x := range src {
		// For k = 1 the pivot test |x| ≤ RCondMin32·|x| only leaves zero.
		if !(abs32(x) <= math.MaxFloat32) {
			c.bad = nonFinite(lo+t, 1, func(int) float64 { return float64(x) })
			return
		}
		if x == 0 {
			c.bad = badPivot32(lo+t, 0, x, 0)
			return
		}
		c.acc.Mul(float64(x))
		dst[t] = x
	}
	c.growth = 1
}

func (f *BatchLU32) factor2(a []float32, lo, hi int, c *batchChunk) {
	const tinyRel = RCondMin32 / 2
	m, n := f.m, hi-lo
	s00, s01 := a[lo:hi], a[m+lo:m+hi]
	s10, s11 := a[2*m+lo:2*m+hi], a[3*m+lo:3*m+hi]
	s01, s10, s11 = s01[:n], s10[:n], s11[:n]
	out, code := f.lu[4*lo:4*hi], f.code[lo:hi]
	code = code[:n]
	growth := 0.0
	for t := range s00 {
		a00, a01 := s00[t], s01[t]
		a10, a11 := s10[t], s11[t]
		amax := math.Float32frombits(max(ab32(a00), ab32(a01), ab32(a10), ab32(a11)))
		if !(amax <= math.MaxFloat32) { // NaN is above +Inf in ab's order
			c.bad = nonFinite(lo+t, 2, func(e int) float64 { return float64(a[e*m+lo+t]) })
			return
		}
		tiny := tinyRel * amax
		p := uint8(0 | 1<<2)
		if ab32(a10) > ab32(a00) {
			a00, a01, a10, a11 = a10, a11, a00, a01
			p = 1 | 0<<2
		}
		if !(abs32(a00) > tiny) {
			c.bad = badPivot32(lo+t, 0, a00, tiny)
			return
		}
		a10 /= a00
		a11 -= a10 * a01
		if !(abs32(a11) > tiny) {
			c.bad = badPivot32(lo+t, 1, a11, tiny)
			return
		}
		g := float64(math.Float32frombits(max(ab32(a00), ab32(a01), ab32(a11)))) / float64(amax)
		if !(g <= BatchGrowthMax32) {
			c.bad = badGrowth32(lo+t, g)
			return
		}
		growth = max(growth, g)
		c.acc.Mul(float64(a00) * float64(a11))
		w := (*[4]float32)(out[4*t:])
		w[0], w[1], w[2], w[3] = a00, a01, a10, a11
		code[t] = p
	}
	c.growth = max(c.growth, growth)
}

func (f *BatchLU32) factor3(a []float32, lo, hi int, c *batchChunk) {
	const tinyRel = RCondMin32 / 3
	m, n := f.m, hi-lo
	var s [9][]float32
	rows(a, 9, m, lo, hi, s[:])
	s00, s01, s02 := s[0][:n], s[1][:n], s[2][:n]
	s10, s11, s12 := s[3][:n], s[4][:n], s[5][:n]
	s20, s21, s22 := s[6][:n], s[7][:n], s[8][:n]
	out, code := f.lu[9*lo:9*hi], f.code[lo:hi]
	code = code[:n]
	growth := 0.0
	for t := range s00 {
		a00, a01, a02 := s00[t], s01[t], s02[t]
		a10, a11, a12 := s10[t], s11[t], s12[t]
		a20, a21, a22 := s20[t], s21[t], s22[t]
		amax := math.Float32frombits(max(ab32(a00), ab32(a01), ab32(a02),
			ab32(a10), ab32(a11), ab32(a12),
			ab32(a20), ab32(a21), ab32(a22)))
		if !(amax <= math.MaxFloat32) {
			c.bad = nonFinite(lo+t, 3, func(e int) float64 { return float64(a[e*m+lo+t]) })
			return
		}
		tiny := tinyRel * amax
		p0, p1, p2 := uint8(0), uint8(1), uint8(2)
		// Column 0: bring the first largest |a_i0| to row 0.
		if ab32(a10) > ab32(a00) {
			a00, a01, a02, a10, a11, a12 = a10, a11, a12, a00, a01, a02
			p0, p1 = p1, p0
		}
		if ab32(a20) > ab32(a00) {
			a00, a01, a02, a20, a21, a22 = a20, a21, a22, a00, a01, a02
			p0, p2 = p2, p0
		}
		if !(abs32(a00) > tiny) {
			c.bad = badPivot32(lo+t, 0, a00, tiny)
			return
		}
		a10 /= a00
		a20 /= a00
		a11 -= a10 * a01
		a12 -= a10 * a02
		a21 -= a20 * a01
		a22 -= a20 * a02
		// Column 1.
		if ab32(a21) > ab32(a11) {
			a10, a11, a12, a20, a21, a22 = a20, a21, a22, a10, a11, a12
			p1, p2 = p2, p1
		}
		if !(abs32(a11) > tiny) {
			c.bad = badPivot32(lo+t, 1, a11, tiny)
			return
		}
		a21 /= a11
		a22 -= a21 * a12
		if !(abs32(a22) > tiny) {
			c.bad = badPivot32(lo+t, 2, a22, tiny)
			return
		}
		g := float64(math.Float32frombits(max(ab32(a00), ab32(a01), ab32(a02),
			ab32(a11), ab32(a12), ab32(a22)))) / float64(amax)
		if !(g <= BatchGrowthMax32) {
			c.bad = badGrowth32(lo+t, g)
			return
		}
		growth = max(growth, g)
		c.acc.Mul(float64(a00) * float64(a11) * float64(a22))
		w := (*[9]float32)(out[9*t:])
		w[0], w[1], w[2] = a00, a01, a02
		w[3], w[4], w[5] = a10, a11, a12
		w[6], w[7], w[8] = a20, a21, a22
		code[t] = p0 | p1<<2 | p2<<4
	}
	c.growth = max(c.growth, growth)
}

func (f *BatchLU32) factor4(a []float32, lo, hi int, c *batchChunk) {
	const tinyRel = RCondMin32 / 4
	m, n := f.m, hi-lo
	var s [16][]float32
	rows(a, 16, m, lo, hi, s[:])
	s00, s01, s02, s03 := s[0][:n], s[1][:n], s[2][:n], s[3][:n]
	s10, s11, s12, s13 := s[4][:n], s[5][:n], s[6][:n], s[7][:n]
	s20, s21, s22, s23 := s[8][:n], s[9][:n], s[10][:n], s[11][:n]
	s30, s31, s32, s33 := s[12][:n], s[13][:n], s[14][:n], s[15][:n]
	out, code := f.lu[16*lo:16*hi], f.code[lo:hi]
	code = code[:n]
	growth := 0.0
	for t := range s00 {
		a00, a01, a02, a03 := s00[t], s01[t], s02[t], s03[t]
		a10, a11, a12, a13 := s10[t], s11[t], s12[t], s13[t]
		a20, a21, a22, a23 := s20[t], s21[t], s22[t], s23[t]
		a30, a31, a32, a33 := s30[t], s31[t], s32[t], s33[t]
		amax := math.Float32frombits(max(ab32(a00), ab32(a01), ab32(a02), ab32(a03),
			ab32(a10), ab32(a11), ab32(a12), ab32(a13),
			ab32(a20), ab32(a21), ab32(a22), ab32(a23),
			ab32(a30), ab32(a31), ab32(a32), ab32(a33)))
		if !(amax <= math.MaxFloat32) {
			c.bad = nonFinite(lo+t, 4, func(e int) float64 { return float64(a[e*m+lo+t]) })
			return
		}
		tiny := tinyRel * amax
		p0, p1, p2, p3 := uint8(0), uint8(1), uint8(2), uint8(3)
		// Column 0.
		if ab32(a10) > ab32(a00) {
			a00, a01, a02, a03, a10, a11, a12, a13 = a10, a11, a12, a13, a00, a01, a02, a03
			p0, p1 = p1, p0
		}
		if ab32(a20) > ab32(a00) {
			a00, a01, a02, a03, a20, a21, a22, a23 = a20, a21, a22, a23, a00, a01, a02, a03
			p0, p2 = p2, p0
		}
		if ab32(a30) > ab32(a00) {
			a00, a01, a02, a03, a30, a31, a32, a33 = a30, a31, a32, a33, a00, a01, a02, a03
			p0, p3 = p3, p0
		}
		if !(abs32(a00) > tiny) {
			c.bad = badPivot32(lo+t, 0, a00, tiny)
			return
		}
		a10 /= a00
		a20 /= a00
		a30 /= a00
		a11 -= a10 * a01
		a12 -= a10 * a02
		a13 -= a10 * a03
		a21 -= a20 * a01
		a22 -= a20 * a02
		a23 -= a20 * a03
		a31 -= a30 * a01
		a32 -= a30 * a02
		a33 -= a30 * a03
		// Column 1.
		if ab32(a21) > ab32(a11) {
			a10, a11, a12, a13, a20, a21, a22, a23 = a20, a21, a22, a23, a10, a11, a12, a13
			p1, p2 = p2, p1
		}
		if ab32(a31) > ab32(a11) {
			a10, a11, a12, a13, a30, a31, a32, a33 = a30, a31, a32, a33, a10, a11, a12, a13
			p1, p3 = p3, p1
		}
		if !(abs32(a11) > tiny) {
			c.bad = badPivot32(lo+t, 1, a11, tiny)
			return
		}
		a21 /= a11
		a31 /= a11
		a22 -= a21 * a12
		a23 -= a21 * a13
		a32 -= a31 * a12
		a33 -= a31 * a13
		// Column 2.
		if ab32(a32) > ab32(a22) {
			a20, a21, a22, a23, a30, a31, a32, a33 = a30, a31, a32, a33, a20, a21, a22, a23
			p2, p3 = p3, p2
		}
		if !(abs32(a22) > tiny) {
			c.bad = badPivot32(lo+t, 2, a22, tiny)
			return
		}
		a32 /= a22
		a33 -= a32 * a23
		if !(abs32(a33) > tiny) {
			c.bad = badPivot32(lo+t, 3, a33, tiny)
			return
		}
		g := float64(math.Float32frombits(max(ab32(a00), ab32(a01), ab32(a02), ab32(a03),
			ab32(a11), ab32(a12), ab32(a13),
			ab32(a22), ab32(a23), ab32(a33)))) / float64(amax)
		if !(g <= BatchGrowthMax32) {
			c.bad = badGrowth32(lo+t, g)
			return
		}
		growth = max(growth, g)
		c.acc.Mul(float64(a00) * float64(a11) * float64(a22) * float64(a33))
		w := (*[16]float32)(out[16*t:])
		w[0], w[1], w[2], w[3] = a00, a01, a02, a03
		w[4], w[5], w[6], w[7] = a10, a11, a12, a13
		w[8], w[9], w[10], w[11] = a20, a21, a22, a23
		w[12], w[13], w[14], w[15] = a30, a31, a32, a33
		code[t] = p0 | p1<<2 | p2<<4 | p3<<6
	}
	c.growth = max(c.growth, growth)
}

func (f *BatchLU32) factorGeneric(a []float32, qlo, qhi int, c *batchChunk) {
	k, m, T := f.k, f.m, f.tile
	tinyRel := RCondMin32 / float32(k)
	scratch := make([]uint32, 2*T)
	best, tinyB := scratch[:T], scratch[T:]
	fl := make([]float32, 2*T)
	amax, rcp := fl[:T], fl[T:]
	prod := make([]float64, T)
	growth := 0.0
	for q := qlo; q < qhi; q++ {
		t0, n, w, piv := f.tileOf(q)
		for e := range k * k {
			copy(w[e*n:(e+1)*n], a[e*m+t0:e*m+t0+n])
		}
		bad, badLane := (*BatchSingular)(nil), n
		fail := func(t int, s *BatchSingular) { // keeps the first failing lane
			if t < badLane {
				s.Block = t0 + t
				bad, badLane = s, t
			}
		}
		// max|A| per block; a NaN or an infinity first.
		best, tinyB, amax, rcp := best[:n], tinyB[:n], amax[:n], rcp[:n]
		clear(best)
		maxAbsLanes32(best, w, n, 0, k*k)
		for t, b := range best {
			amax[t] = math.Float32frombits(b)
			tinyB[t] = math.Float32bits(tinyRel * amax[t])
			if b >= infBits32 {
				fail(t, nonFinite(0, k, func(e int) float64 { return float64(w[e*n+t]) }))
			}
		}
		for p := range k {
			ip := piv[p*n : (p+1)*n]
			pivotSearch32(best, ip, w, k, n, p)
			for t, b := range best {
				if b <= tinyB[t] { // also zero, where tinyB is
					fail(t, badPivot32(0, p, w[(int(ip[t])*k+p)*n+t], tinyRel*amax[t]))
				}
			}
			// Exchange rows p and ip in the columns p to k-1.
			for t, r := range ip {
				if int(r) == p {
					continue
				}
				// Entry (p, j) of lane t is at rp[(j-p)*n], (r, j) at rq[(j-p)*n].
				rp := w[(p*k+p)*n+t : (p*k+k-1)*n+t+1]
				rq := w[(int(r)*k+p)*n+t : (int(r)*k+k-1)*n+t+1]
				rq = rq[:len(rp)]
				for j := 0; j < len(rp); j += n {
					rp[j], rq[j] = rq[j], rp[j]
				}
			}
			if p == k-1 {
				break
			}
			// Multipliers, by the pivots' reciprocals as LAPACK where
			// these are finite and normal: for normal pivots below 2^126.
			// (float32's range is small enough for the upper end to
			// matter.)
			u := w[(p*k+p)*n : (p*k+p+1)*n]
			u, rcp := u[:len(best)], rcp[:len(best)]
			normal := true
			for t, x := range u {
				rcp[t] = 1 / x
				normal = normal && ab32(x)-minNormalBits32 < maxRcpBits32-minNormalBits32
			}
			for i := p + 1; i < k; i++ {
				l := w[(i*k+p)*n : (i*k+p+1)*n]
				l = l[:len(best)]
				if normal {
					for t, r := range rcp {
						l[t] *= r
					}
				} else {
					for t, x := range u {
						l[t] /= x
					}
				}
			}
			trailingUpdate(w, k, n, p)
		}
		// Growth, log|det|.
		clear(best)
		for i := range k {
			maxAbsLanes32(best, w, n, i*k+i, (i+1)*k)
		}
		for t, b := range best {
			g := float64(math.Float32frombits(b)) / float64(amax[t])
			if !(g <= BatchGrowthMax32) {
				fail(t, badGrowth32(0, g))
			}
			growth = max(growth, g)
		}
		if bad != nil {
			c.bad = bad
			return
		}
		// The pivots' products in float64: exact up to k = 2, and at least
		// 7 float32 pivots before one over- or underflows.
		prod := prod[:n]
		for t := range prod {
			prod[t] = 1
		}
		for p := range k {
			for t, x := range w[(p*k+p)*n : (p*k+p+1)*n] {
				prod[t] *= float64(x)
			}
		}
		for t, x := range prod {
			if e := math.Float64bits(x) >> 52 & 0x7ff; e != 0 && e != 0x7ff {
				c.acc.Mul(x)
				continue
			}
			for p := range k {
				c.acc.Mul(float64(w[(p*k+p)*n+t]))
			}
		}
	}
	c.growth = max(c.growth, growth)
}

func pivotSearch32(best []uint32, ip []int32, w []float32, k, n, p int) {
	t := 0
	for ; t+4 <= n; t += 4 {
		x := (*[4]float32)(w[(p*k+p)*n+t:])
		b0, b1, b2, b3 := ab32(x[0]), ab32(x[1]), ab32(x[2]), ab32(x[3])
		i0, i1, i2, i3 := int32(p), int32(p), int32(p), int32(p)
		for i := p + 1; i < k; i++ {
			x := (*[4]float32)(w[(i*k+p)*n+t:])
			ii := int32(i)
			if y := ab32(x[0]); y > b0 {
				b0, i0 = y, ii
			}
			if y := ab32(x[1]); y > b1 {
				b1, i1 = y, ii
			}
			if y := ab32(x[2]); y > b2 {
				b2, i2 = y, ii
			}
			if y := ab32(x[3]); y > b3 {
				b3, i3 = y, ii
			}
		}
		b, r := (*[4]uint32)(best[t:]), (*[4]int32)(ip[t:])
		b[0], b[1], b[2], b[3] = b0, b1, b2, b3
		r[0], r[1], r[2], r[3] = i0, i1, i2, i3
	}
	for ; t < n; t++ {
		b, r := ab32(w[(p*k+p)*n+t]), int32(p)
		for i := p + 1; i < k; i++ {
			if y := ab32(w[(i*k+p)*n+t]); y > b {
				b, r = y, int32(i)
			}
		}
		best[t], ip[t] = b, r
	}
}

func maxAbsLanes32(best []uint32, w []float32, n, e0, e1 int) {
	t := 0
	for ; t+8 <= n; t += 8 {
		b := (*[8]uint32)(best[t:])
		b0, b1, b2, b3, b4, b5, b6, b7 := b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
		for o := e0*n + t; o < e1*n; o += n {
			x := w[o : o+8]
			b0, b1, b2, b3 = max(b0, ab32(x[0])), max(b1, ab32(x[1])), max(b2, ab32(x[2])), max(b3, ab32(x[3]))
			b4, b5, b6, b7 = max(b4, ab32(x[4])), max(b5, ab32(x[5])), max(b6, ab32(x[6])), max(b7, ab32(x[7]))
		}
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7] = b0, b1, b2, b3, b4, b5, b6, b7
	}
	for ; t < n; t++ {
		b := best[t]
		for e := e0; e < e1; e++ {
			b = max(b, ab32(w[e*n+t]))
		}
		best[t] = b
	}
}

// ab32 returns the bits of |x|, which as integers order as |x| does, with NaN
// above +Inf, as ab does for float64.
func ab32(x float32) uint32 { return math.Float32bits(x) &^ (1 << 31) }

// abs32 returns |x|.
func abs32(x float32) float32 { return math.Float32frombits(ab32(x)) }

// minNormalBits32 is the bit pattern of the smallest normal float32, 2^-126.
const minNormalBits32 = 1 << 23

// maxRcpBits32 is the bit pattern of 2^126: the reciprocals of the normal
// float32 below it are normal.
const maxRcpBits32 = (126 + 127) << 23

// infBits32 is the bit pattern of +Inf in float32.
const infBits32 = 0xff << 23
