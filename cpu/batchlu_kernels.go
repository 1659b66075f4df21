package cpu

import "math"

// The kernels of BatchLU: closed-form, unrolled ones for the orders k = 1 to
// 4, which keep a block in registers and run over the blocks [lo, hi), and
// generic ones for k ≥ 5, which run over tiles of blocks. The factor kernels
// stop at the first refused block and leave it in c.bad. Every kernel reads
// all of a block's inputs before it writes any of its outputs, so a solve's
// dst may be its v. The solves, and trailingUpdate, are generic methods of
// batchLU[T] and serve BatchLU32 too: they are plain arithmetic on T, and
// their float64 instances compile to the code they had as float64 functions
// (the same instructions in trailingUpdate; the solves differ in register
// choice). The float64 factor kernels are methods of BatchLU; the float32
// ones, in batchlu32_kernels.go, of BatchLU32.

func (f *BatchLU) factor1(a []float64, lo, hi int, c *batchChunk) {
	src, dst := a[lo:hi], f.lu[lo:hi]
	dst = dst[:len(src)]
	for t, x := range src {
		// For k = 1 the pivot test |x| ≤ RCondMin·|x| only leaves zero.
		if !(math.Abs(x) <= math.MaxFloat64) {
			c.bad = nonFinite(lo+t, 1, func(int) float64 { return x })
			return
		}
		if x == 0 {
			c.bad = badPivot(lo+t, 0, x, 0)
			return
		}
		c.acc.Mul(x)
		dst[t] = x
	}
	c.growth = 1
}

func (f *batchLU[T]) solve1(dst, v []T, lo, hi int) {
	u := f.lu[lo:hi]
	d, s := dst[lo:hi], v[lo:hi]
	d, s = d[:len(u)], s[:len(u)]
	for t, x := range u {
		d[t] = s[t] / x
	}
}

// ab returns the bits of |x|, which as integers order as |x| does, with NaN
// above +Inf: maxima of them are cheaper than floating-point ones.
func ab(x float64) uint64 { return math.Float64bits(x) &^ (1 << 63) }

// rows sets dst[e] to the stream a[e*m+lo : e*m+hi] of entry e = i*k+j, for
// e < kk.
func rows[T float](a []T, kk, m, lo, hi int, dst [][]T) {
	for e := range kk {
		dst[e] = a[e*m+lo : e*m+hi]
	}
}

// The k = 2 kernels. Rows are swapped when the subdiagonal entry is strictly
// larger in magnitude, as LAPACK's Idamax picks the first largest.

func (f *BatchLU) factor2(a []float64, lo, hi int, c *batchChunk) {
	const tinyRel = RCondMin / 2
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
		amax := math.Float64frombits(max(ab(a00), ab(a01), ab(a10), ab(a11)))
		if !(amax <= math.MaxFloat64) { // NaN is above +Inf in ab's order
			c.bad = nonFinite(lo+t, 2, func(e int) float64 { return a[e*m+lo+t] })
			return
		}
		tiny := tinyRel * amax
		p := uint8(0 | 1<<2)
		if ab(a10) > ab(a00) {
			a00, a01, a10, a11 = a10, a11, a00, a01
			p = 1 | 0<<2
		}
		if !(math.Abs(a00) > tiny) {
			c.bad = badPivot(lo+t, 0, a00, tiny)
			return
		}
		a10 /= a00
		a11 -= a10 * a01
		if !(math.Abs(a11) > tiny) {
			c.bad = badPivot(lo+t, 1, a11, tiny)
			return
		}
		g := math.Float64frombits(max(ab(a00), ab(a01), ab(a11))) / amax
		if !(g <= BatchGrowthMax) {
			c.bad = badGrowth(lo+t, g)
			return
		}
		growth = max(growth, g)
		c.acc.MulProd(a00*a11, a00, a11)
		w := (*[4]float64)(out[4*t:])
		w[0], w[1], w[2], w[3] = a00, a01, a10, a11
		code[t] = p
	}
	c.growth = max(c.growth, growth)
}

func (f *batchLU[T]) solve2(dst, v []T, lo, hi int) {
	m, n := f.m, hi-lo
	d0, d1 := dst[lo:hi], dst[m+lo:m+hi]
	d1 = d1[:n]
	out, code := f.lu[4*lo:4*hi], f.code[lo:hi]
	code = code[:n]
	for t := range d0 {
		p := code[t]
		b := lo + t
		x0, x1 := v[int(p&3)*m+b], v[int(p>>2&3)*m+b]
		w := (*[4]T)(out[4*t:])
		x1 = (x1 - w[2]*x0) / w[3]
		x0 = (x0 - w[1]*x1) / w[0]
		d0[t], d1[t] = x0, x1
	}
}

func (f *batchLU[T]) solveT2(dst, v []T, lo, hi int) {
	m, n := f.m, hi-lo
	v0, v1 := v[lo:hi], v[m+lo:m+hi]
	v1 = v1[:n]
	out, code := f.lu[4*lo:4*hi], f.code[lo:hi]
	code = code[:n]
	for t := range v0 {
		w := (*[4]T)(out[4*t:])
		// Uᵀ y = v, then Lᵀ z = y, then x = Pᵀ z.
		y0 := v0[t] / w[0]
		y1 := (v1[t] - w[1]*y0) / w[3]
		y0 -= w[2] * y1
		p, b := code[t], lo+t
		dst[int(p&3)*m+b], dst[int(p>>2&3)*m+b] = y0, y1
	}
}

// The k = 3 kernels.

func (f *BatchLU) factor3(a []float64, lo, hi int, c *batchChunk) {
	const tinyRel = RCondMin / 3
	m, n := f.m, hi-lo
	var s [9][]float64
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
		amax := math.Float64frombits(max(ab(a00), ab(a01), ab(a02),
			ab(a10), ab(a11), ab(a12),
			ab(a20), ab(a21), ab(a22)))
		if !(amax <= math.MaxFloat64) {
			c.bad = nonFinite(lo+t, 3, func(e int) float64 { return a[e*m+lo+t] })
			return
		}
		tiny := tinyRel * amax
		p0, p1, p2 := uint8(0), uint8(1), uint8(2)
		// Column 0: bring the first largest |a_i0| to row 0.
		if ab(a10) > ab(a00) {
			a00, a01, a02, a10, a11, a12 = a10, a11, a12, a00, a01, a02
			p0, p1 = p1, p0
		}
		if ab(a20) > ab(a00) {
			a00, a01, a02, a20, a21, a22 = a20, a21, a22, a00, a01, a02
			p0, p2 = p2, p0
		}
		if !(math.Abs(a00) > tiny) {
			c.bad = badPivot(lo+t, 0, a00, tiny)
			return
		}
		a10 /= a00
		a20 /= a00
		a11 -= a10 * a01
		a12 -= a10 * a02
		a21 -= a20 * a01
		a22 -= a20 * a02
		// Column 1.
		if ab(a21) > ab(a11) {
			a10, a11, a12, a20, a21, a22 = a20, a21, a22, a10, a11, a12
			p1, p2 = p2, p1
		}
		if !(math.Abs(a11) > tiny) {
			c.bad = badPivot(lo+t, 1, a11, tiny)
			return
		}
		a21 /= a11
		a22 -= a21 * a12
		if !(math.Abs(a22) > tiny) {
			c.bad = badPivot(lo+t, 2, a22, tiny)
			return
		}
		g := math.Float64frombits(max(ab(a00), ab(a01), ab(a02),
			ab(a11), ab(a12), ab(a22))) / amax
		if !(g <= BatchGrowthMax) {
			c.bad = badGrowth(lo+t, g)
			return
		}
		growth = max(growth, g)
		c.acc.MulProd(a00*a11*a22, a00, a11, a22)
		w := (*[9]float64)(out[9*t:])
		w[0], w[1], w[2] = a00, a01, a02
		w[3], w[4], w[5] = a10, a11, a12
		w[6], w[7], w[8] = a20, a21, a22
		code[t] = p0 | p1<<2 | p2<<4
	}
	c.growth = max(c.growth, growth)
}

func (f *batchLU[T]) solve3(dst, v []T, lo, hi int) {
	m, n := f.m, hi-lo
	d0, d1, d2 := dst[lo:hi], dst[m+lo:m+hi], dst[2*m+lo:2*m+hi]
	d1, d2 = d1[:n], d2[:n]
	out, code := f.lu[9*lo:9*hi], f.code[lo:hi]
	code = code[:n]
	for t := range d0 {
		p, b := code[t], lo+t
		x0, x1, x2 := v[int(p&3)*m+b], v[int(p>>2&3)*m+b], v[int(p>>4&3)*m+b]
		w := (*[9]T)(out[9*t:])
		x1 -= w[3] * x0
		x2 -= w[6]*x0 + w[7]*x1
		x2 /= w[8]
		x1 = (x1 - w[5]*x2) / w[4]
		x0 = (x0 - w[1]*x1 - w[2]*x2) / w[0]
		d0[t], d1[t], d2[t] = x0, x1, x2
	}
}

func (f *batchLU[T]) solveT3(dst, v []T, lo, hi int) {
	m, n := f.m, hi-lo
	v0, v1, v2 := v[lo:hi], v[m+lo:m+hi], v[2*m+lo:2*m+hi]
	v1, v2 = v1[:n], v2[:n]
	out, code := f.lu[9*lo:9*hi], f.code[lo:hi]
	code = code[:n]
	for t := range v0 {
		w := (*[9]T)(out[9*t:])
		y0 := v0[t] / w[0]
		y1 := (v1[t] - w[1]*y0) / w[4]
		y2 := (v2[t] - w[2]*y0 - w[5]*y1) / w[8]
		y1 -= w[7] * y2
		y0 -= w[3]*y1 + w[6]*y2
		p, b := code[t], lo+t
		dst[int(p&3)*m+b], dst[int(p>>2&3)*m+b], dst[int(p>>4&3)*m+b] = y0, y1, y2
	}
}

// The k = 4 kernels.

func (f *BatchLU) factor4(a []float64, lo, hi int, c *batchChunk) {
	const tinyRel = RCondMin / 4
	m, n := f.m, hi-lo
	var s [16][]float64
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
		amax := math.Float64frombits(max(ab(a00), ab(a01), ab(a02), ab(a03),
			ab(a10), ab(a11), ab(a12), ab(a13),
			ab(a20), ab(a21), ab(a22), ab(a23),
			ab(a30), ab(a31), ab(a32), ab(a33)))
		if !(amax <= math.MaxFloat64) {
			c.bad = nonFinite(lo+t, 4, func(e int) float64 { return a[e*m+lo+t] })
			return
		}
		tiny := tinyRel * amax
		p0, p1, p2, p3 := uint8(0), uint8(1), uint8(2), uint8(3)
		// Column 0.
		if ab(a10) > ab(a00) {
			a00, a01, a02, a03, a10, a11, a12, a13 = a10, a11, a12, a13, a00, a01, a02, a03
			p0, p1 = p1, p0
		}
		if ab(a20) > ab(a00) {
			a00, a01, a02, a03, a20, a21, a22, a23 = a20, a21, a22, a23, a00, a01, a02, a03
			p0, p2 = p2, p0
		}
		if ab(a30) > ab(a00) {
			a00, a01, a02, a03, a30, a31, a32, a33 = a30, a31, a32, a33, a00, a01, a02, a03
			p0, p3 = p3, p0
		}
		if !(math.Abs(a00) > tiny) {
			c.bad = badPivot(lo+t, 0, a00, tiny)
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
		if ab(a21) > ab(a11) {
			a10, a11, a12, a13, a20, a21, a22, a23 = a20, a21, a22, a23, a10, a11, a12, a13
			p1, p2 = p2, p1
		}
		if ab(a31) > ab(a11) {
			a10, a11, a12, a13, a30, a31, a32, a33 = a30, a31, a32, a33, a10, a11, a12, a13
			p1, p3 = p3, p1
		}
		if !(math.Abs(a11) > tiny) {
			c.bad = badPivot(lo+t, 1, a11, tiny)
			return
		}
		a21 /= a11
		a31 /= a11
		a22 -= a21 * a12
		a23 -= a21 * a13
		a32 -= a31 * a12
		a33 -= a31 * a13
		// Column 2.
		if ab(a32) > ab(a22) {
			a20, a21, a22, a23, a30, a31, a32, a33 = a30, a31, a32, a33, a20, a21, a22, a23
			p2, p3 = p3, p2
		}
		if !(math.Abs(a22) > tiny) {
			c.bad = badPivot(lo+t, 2, a22, tiny)
			return
		}
		a32 /= a22
		a33 -= a32 * a23
		if !(math.Abs(a33) > tiny) {
			c.bad = badPivot(lo+t, 3, a33, tiny)
			return
		}
		g := math.Float64frombits(max(ab(a00), ab(a01), ab(a02), ab(a03),
			ab(a11), ab(a12), ab(a13),
			ab(a22), ab(a23), ab(a33))) / amax
		if !(g <= BatchGrowthMax) {
			c.bad = badGrowth(lo+t, g)
			return
		}
		growth = max(growth, g)
		c.acc.MulProd(a00*a11*a22*a33, a00, a11, a22, a33)
		w := (*[16]float64)(out[16*t:])
		w[0], w[1], w[2], w[3] = a00, a01, a02, a03
		w[4], w[5], w[6], w[7] = a10, a11, a12, a13
		w[8], w[9], w[10], w[11] = a20, a21, a22, a23
		w[12], w[13], w[14], w[15] = a30, a31, a32, a33
		code[t] = p0 | p1<<2 | p2<<4 | p3<<6
	}
	c.growth = max(c.growth, growth)
}

func (f *batchLU[T]) solve4(dst, v []T, lo, hi int) {
	m, n := f.m, hi-lo
	d0, d1, d2, d3 := dst[lo:hi], dst[m+lo:m+hi], dst[2*m+lo:2*m+hi], dst[3*m+lo:3*m+hi]
	d1, d2, d3 = d1[:n], d2[:n], d3[:n]
	out, code := f.lu[16*lo:16*hi], f.code[lo:hi]
	code = code[:n]
	for t := range d0 {
		p, b := code[t], lo+t
		x0, x1 := v[int(p&3)*m+b], v[int(p>>2&3)*m+b]
		x2, x3 := v[int(p>>4&3)*m+b], v[int(p>>6)*m+b]
		w := (*[16]T)(out[16*t:])
		x1 -= w[4] * x0
		x2 -= w[8]*x0 + w[9]*x1
		x3 -= w[12]*x0 + w[13]*x1 + w[14]*x2
		x3 /= w[15]
		x2 = (x2 - w[11]*x3) / w[10]
		x1 = (x1 - w[6]*x2 - w[7]*x3) / w[5]
		x0 = (x0 - w[1]*x1 - w[2]*x2 - w[3]*x3) / w[0]
		d0[t], d1[t], d2[t], d3[t] = x0, x1, x2, x3
	}
}

func (f *batchLU[T]) solveT4(dst, v []T, lo, hi int) {
	m, n := f.m, hi-lo
	v0, v1, v2, v3 := v[lo:hi], v[m+lo:m+hi], v[2*m+lo:2*m+hi], v[3*m+lo:3*m+hi]
	v1, v2, v3 = v1[:n], v2[:n], v3[:n]
	out, code := f.lu[16*lo:16*hi], f.code[lo:hi]
	code = code[:n]
	for t := range v0 {
		w := (*[16]T)(out[16*t:])
		y0 := v0[t] / w[0]
		y1 := (v1[t] - w[1]*y0) / w[5]
		y2 := (v2[t] - w[2]*y0 - w[6]*y1) / w[10]
		y3 := (v3[t] - w[3]*y0 - w[7]*y1 - w[11]*y2) / w[15]
		y2 -= w[14] * y3
		y1 -= w[9]*y2 + w[13]*y3
		y0 -= w[4]*y1 + w[8]*y2 + w[12]*y3
		p, b := code[t], lo+t
		dst[int(p&3)*m+b], dst[int(p>>2&3)*m+b] = y0, y1
		dst[int(p>>4&3)*m+b], dst[int(p>>6)*m+b] = y2, y3
	}
}

// The generic kernels, for k ≥ 5, work on tiles of up to f.tile blocks in
// batch-minor layout, the layout in which the blocks arrive: tile q holds
// blocks [q*T, q*T+n) (T = f.tile, n = min(T, m-q*T)) at f.lu[q*T*k*k:], entry
// e = i*k+j of block q*T+t at [e*n+t], and its pivots at f.piv[q*T*k:], the
// pivot row of step p of block q*T+t at [p*n+t]. Every inner loop runs over
// the n blocks of a tile: long, independent iterations, whatever k. As in
// LINPACK, a row exchange swaps only the columns not yet eliminated, and the
// solves apply the exchanges step by step.

// genericTile returns the number of blocks in a tile of order k: up to 64,
// and at most 256 KiB of factors (for k ≤ 64), which stay in the L2 cache
// while the tile is factorized. Measured at k = 8, 16 and 32: 64 blocks is
// best up to k = 16, 16 to 32 blocks at k = 32; 128 blocks is worse.
func genericTile(k int) int { return min(64, max(8, (32<<10)/(k*k))) }

// forTiles runs body over the tiles [qlo, qhi) of f, in parallel, counting
// work elementwise operations per block.
func (f *batchLU[T]) forTiles(work int, body func(qlo, qhi int)) {
	nt := (f.m + f.tile - 1) / f.tile
	forBlocks(nt, work*f.tile, body)
}

// tileOf returns the first block, the size, the factors and the pivots of
// tile q.
func (f *batchLU[T]) tileOf(q int) (t0, n int, w []T, piv []int32) {
	k, kk := f.k, f.k*f.k
	t0 = q * f.tile
	n = min(f.tile, f.m-t0)
	return t0, n, f.lu[t0*kk : (t0+n)*kk], f.piv[t0*k : (t0+n)*k]
}

func (f *BatchLU) factorGeneric(a []float64, qlo, qhi int, c *batchChunk) {
	k, m, T := f.k, f.m, f.tile
	tinyRel := RCondMin / float64(k)
	scratch := make([]uint64, 2*T)
	best, tinyB := scratch[:T], scratch[T:]
	fl := make([]float64, 2*T)
	amax, rcp := fl[:T], fl[T:]
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
		maxAbsLanes(best, w, n, 0, k*k)
		for t, b := range best {
			amax[t] = math.Float64frombits(b)
			tinyB[t] = math.Float64bits(tinyRel * amax[t])
			if b >= infBits {
				fail(t, nonFinite(0, k, func(e int) float64 { return w[e*n+t] }))
			}
		}
		for p := range k {
			ip := piv[p*n : (p+1)*n]
			pivotSearch(best, ip, w, k, n, p)
			for t, b := range best {
				if b <= tinyB[t] { // also zero, where tinyB is
					fail(t, badPivot(0, p, w[(int(ip[t])*k+p)*n+t], tinyRel*amax[t]))
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
			// these are finite: for normal pivots.
			u := w[(p*k+p)*n : (p*k+p+1)*n]
			u, rcp := u[:len(best)], rcp[:len(best)]
			normal := true
			for t, x := range u {
				rcp[t] = 1 / x
				normal = normal && ab(x) >= minNormalBits
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
			maxAbsLanes(best, w, n, i*k+i, (i+1)*k)
		}
		for t, b := range best {
			g := math.Float64frombits(b) / amax[t]
			if !(g <= BatchGrowthMax) {
				fail(t, badGrowth(0, g))
			}
			growth = max(growth, g)
		}
		if bad != nil {
			c.bad = bad
			return
		}
		prod := rcp
		for t := range prod {
			prod[t] = 1
		}
		for p := range k {
			for t, x := range w[(p*k+p)*n : (p*k+p+1)*n] {
				prod[t] *= x
			}
		}
		for t, x := range prod {
			if e := math.Float64bits(x) >> 52 & 0x7ff; e != 0 && e != 0x7ff {
				c.acc.Mul(x)
				continue
			}
			for p := range k {
				c.acc.Mul(w[(p*k+p)*n+t])
			}
		}
	}
	c.growth = max(c.growth, growth)
}

// pivotSearch finds, in each of the n lanes, the pivot row of step p: the
// first row i ≥ p of largest |w_ip|, as LAPACK's Idamax, into ip, and the bits
// of its |w_ip| into best. Four lanes at a time stay in registers, with
// conditional moves in place of unpredictable branches.
func pivotSearch(best []uint64, ip []int32, w []float64, k, n, p int) {
	t := 0
	for ; t+4 <= n; t += 4 {
		x := (*[4]float64)(w[(p*k+p)*n+t:])
		b0, b1, b2, b3 := ab(x[0]), ab(x[1]), ab(x[2]), ab(x[3])
		i0, i1, i2, i3 := int32(p), int32(p), int32(p), int32(p)
		for i := p + 1; i < k; i++ {
			x := (*[4]float64)(w[(i*k+p)*n+t:])
			ii := int32(i)
			if y := ab(x[0]); y > b0 {
				b0, i0 = y, ii
			}
			if y := ab(x[1]); y > b1 {
				b1, i1 = y, ii
			}
			if y := ab(x[2]); y > b2 {
				b2, i2 = y, ii
			}
			if y := ab(x[3]); y > b3 {
				b3, i3 = y, ii
			}
		}
		b, r := (*[4]uint64)(best[t:]), (*[4]int32)(ip[t:])
		b[0], b[1], b[2], b[3] = b0, b1, b2, b3
		r[0], r[1], r[2], r[3] = i0, i1, i2, i3
	}
	for ; t < n; t++ {
		b, r := ab(w[(p*k+p)*n+t]), int32(p)
		for i := p + 1; i < k; i++ {
			if y := ab(w[(i*k+p)*n+t]); y > b {
				b, r = y, int32(i)
			}
		}
		best[t], ip[t] = b, r
	}
}

// maxAbsLanes sets best[t] to the largest of best[t] and ab(w[e*n+t]) for e
// in [e0, e1), for the n lanes t, eight lanes at a time in registers.
func maxAbsLanes(best []uint64, w []float64, n, e0, e1 int) {
	t := 0
	for ; t+8 <= n; t += 8 {
		b := (*[8]uint64)(best[t:])
		b0, b1, b2, b3, b4, b5, b6, b7 := b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]
		for o := e0*n + t; o < e1*n; o += n {
			x := w[o : o+8]
			b0, b1, b2, b3 = max(b0, ab(x[0])), max(b1, ab(x[1])), max(b2, ab(x[2])), max(b3, ab(x[3]))
			b4, b5, b6, b7 = max(b4, ab(x[4])), max(b5, ab(x[5])), max(b6, ab(x[6])), max(b7, ab(x[7]))
		}
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7] = b0, b1, b2, b3, b4, b5, b6, b7
	}
	for ; t < n; t++ {
		b := best[t]
		for e := e0; e < e1; e++ {
			b = max(b, ab(w[e*n+t]))
		}
		best[t] = b
	}
}

// trailingUpdate subtracts l_i·u_j from the entries (i, j), i, j > p, of the
// n lanes of the tile w: two rows and two columns at a time, so that each
// load of l, u or an entry serves two products.
func trailingUpdate[T float](w []T, k, n, p int) {
	row := func(i, j int) []T { return w[(i*k+j)*n : (i*k+j+1)*n] }
	i := p + 1
	for ; i+2 <= k; i += 2 {
		l0, l1 := row(i, p), row(i+1, p)
		l1 = l1[:len(l0)]
		j := p + 1
		for ; j+2 <= k; j += 2 {
			u0, u1 := row(p, j), row(p, j+1)
			y00, y01, y10, y11 := row(i, j), row(i, j+1), row(i+1, j), row(i+1, j+1)
			u0, u1 = u0[:len(l0)], u1[:len(l0)]
			y00, y01, y10, y11 = y00[:len(l0)], y01[:len(l0)], y10[:len(l0)], y11[:len(l0)]
			for t, a := range l0 {
				b, x, z := l1[t], u0[t], u1[t]
				y00[t] -= a * x
				y01[t] -= a * z
				y10[t] -= b * x
				y11[t] -= b * z
			}
		}
		if j < k {
			u, y0, y1 := row(p, j), row(i, j), row(i+1, j)
			u, y0, y1 = u[:len(l0)], y0[:len(l0)], y1[:len(l0)]
			for t, a := range l0 {
				x := u[t]
				y0[t] -= a * x
				y1[t] -= l1[t] * x
			}
		}
	}
	if i < k {
		l := row(i, p)
		for j := p + 1; j < k; j++ {
			y, u := row(i, j), row(p, j)
			y, u = y[:len(l)], u[:len(l)]
			for t, a := range l {
				y[t] -= a * u[t]
			}
		}
	}
}

// minNormalBits is the bit pattern of the smallest normal float64, 2^-1022.
const minNormalBits = 1 << 52

// infBits is the bit pattern of +Inf.
const infBits = 0x7ff << 52

func (f *batchLU[T]) solveGeneric(dst, v []T, qlo, qhi int) {
	k, m := f.k, f.m
	x := make([]T, k*f.tile)
	for q := qlo; q < qhi; q++ {
		t0, n, w, piv := f.tileOf(q)
		for i := range k {
			copy(x[i*n:(i+1)*n], v[i*m+t0:i*m+t0+n])
		}
		// For each step: the row exchange, then the elimination.
		for p := range k - 1 {
			xp, ip := x[p*n:(p+1)*n], piv[p*n:(p+1)*n]
			ip = ip[:len(xp)]
			for t, r := range ip {
				o := int(r)*n + t
				xp[t], x[o] = x[o], xp[t]
			}
			for i := p + 1; i < k; i++ {
				l, xi := w[(i*k+p)*n:(i*k+p+1)*n], x[i*n:(i+1)*n]
				l, xi = l[:len(xp)], xi[:len(xp)]
				for t, xt := range xp {
					xi[t] -= l[t] * xt
				}
			}
		}
		// U x = y, from the last row up.
		for i := k - 1; i >= 0; i-- {
			xi := x[i*n : (i+1)*n]
			for j := i + 1; j < k; j++ {
				u, xj := w[(i*k+j)*n:(i*k+j+1)*n], x[j*n:(j+1)*n]
				u, xj = u[:len(xi)], xj[:len(xi)]
				for t, ut := range u {
					xi[t] -= ut * xj[t]
				}
			}
			u := w[(i*k+i)*n : (i*k+i+1)*n]
			u = u[:len(xi)]
			for t, ut := range u {
				xi[t] /= ut
			}
		}
		for i := range k {
			copy(dst[i*m+t0:i*m+t0+n], x[i*n:(i+1)*n])
		}
	}
}

func (f *batchLU[T]) solveTGeneric(dst, v []T, qlo, qhi int) {
	x := make([]T, f.k*f.tile)
	for q := qlo; q < qhi; q++ {
		f.solveTTile(x, dst, v, q)
	}
}

// solveTTile is SolveT on tile q, through the scratch x of k·tile
// elements.
func (f *batchLU[T]) solveTTile(x, dst, v []T, q int) {
	k, m := f.k, f.m
	t0, n, w, piv := f.tileOf(q)
	for i := range k {
		copy(x[i*n:(i+1)*n], v[i*m+t0:i*m+t0+n])
	}
	// Uᵀ y = v, by the rows of U.
	for i := range k {
		xi, u := x[i*n:(i+1)*n], w[(i*k+i)*n:(i*k+i+1)*n]
		u = u[:len(xi)]
		for t, ut := range u {
			xi[t] /= ut
		}
		for j := i + 1; j < k; j++ {
			u, xj := w[(i*k+j)*n:(i*k+j+1)*n], x[j*n:(j+1)*n]
			u, xj = u[:len(xi)], xj[:len(xi)]
			for t, xt := range xi {
				xj[t] -= u[t] * xt
			}
		}
	}
	// For each step from the last: Lᵀ's column, then the exchange.
	for p := k - 2; p >= 0; p-- {
		xp, ip := x[p*n:(p+1)*n], piv[p*n:(p+1)*n]
		ip = ip[:len(xp)]
		for i := p + 1; i < k; i++ {
			l, xi := w[(i*k+p)*n:(i*k+p+1)*n], x[i*n:(i+1)*n]
			l, xi = l[:len(xp)], xi[:len(xp)]
			for t, lt := range l {
				xp[t] -= lt * xi[t]
			}
		}
		for t, r := range ip {
			o := int(r)*n + t
			xp[t], x[o] = x[o], xp[t]
		}
	}
	for i := range k {
		copy(dst[i*m+t0:i*m+t0+n], x[i*n:(i+1)*n])
	}
}
