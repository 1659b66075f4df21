package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/invad/invad/internal/cudadrv"
	"github.com/invad/invad/tape"
)

// The thresholds of the kernels, those of package cpu: a pivot |u_pp| ≤
// RCondMin/k·max|A| or a growth max|U|/max|A| above GrowthMax refuses a
// block.
const (
	RCondMin  = 1e-15
	GrowthMax = 0x1p26
)

// The status codes the LU kernels write per block.
const (
	statusNonFinite = 1
	statusPivot     = 2
	statusGrowth    = 3
)

// BatchSingular describes the first block that FactorBatch refused. It
// matches tape.ErrSingular.
type BatchSingular struct {
	Block int     // index of the first refused block
	Row   int     // row of the non-finite entry, elimination step of the bad pivot, or -1 for growth
	Pivot float64 // the entry, the pivot, or the growth factor
	// Figure names what Pivot is: "non-finite entry", "pivot" or "pivot
	// growth".
	Figure string
	Why    string
}

func (s *BatchSingular) Error() string {
	return fmt.Sprintf("cuda: batched LU block %d, row %d: %s", s.Block, s.Row, s.Why)
}

// Is makes errors.Is(err, tape.ErrSingular) true.
func (s *BatchSingular) Is(target error) bool { return target == tape.ErrSingular }

// singular decodes the status word and value the kernels wrote for block b.
func singular(b int, status int32, val float64) *BatchSingular {
	code, row := int(status&0xff), int(status>>8)-1
	s := &BatchSingular{Block: b, Row: row, Pivot: val}
	switch code {
	case statusNonFinite:
		s.Figure, s.Why = "non-finite entry", fmt.Sprintf("non-finite entry %v in row %d", val, row)
	case statusPivot:
		s.Figure, s.Why = "pivot", "zero pivot"
		if val != 0 {
			s.Why = fmt.Sprintf("pivot %.3g within RCondMin/k·max|A|: condition number above 1/RCondMin", val)
		}
	case statusGrowth:
		s.Figure = "pivot growth"
		s.Why = fmt.Sprintf("pivot growth %.3g above GrowthMax = %.3g", val, float64(GrowthMax))
	default:
		s.Why = fmt.Sprintf("unknown status word %#x", status)
	}
	return s
}

// BatchLU is the LU factorization with partial pivoting of m blocks of
// order k held in device memory, in the batch-minor layout of
// cpu.FactorBatch. Free releases it.
type BatchLU struct {
	be     *Backend
	k, m   int
	lu     *Tensor // k*k*m factors
	piv    *Tensor // k*m pivot rows, one byte each
	logdet *Tensor // m doubles
}

// K returns the order of the blocks, M their number.
func (f *BatchLU) K() int { return f.k }

// M returns the number of blocks.
func (f *BatchLU) M() int { return f.m }

// luWarps returns the warps per CTA of lu_factor_warp for order k, and the
// dynamic shared memory they need: each warp's block, rows padded to k+1,
// and one double per warp for its accept flag, within the 48 KiB that needs
// no opt-in.
func luWarps(k int) (warps int, shared uint32) {
	per := k * (k + 1)
	warps = max(1, min(4, (48<<10)/(8*(per+1))))
	return warps, uint32(8 * (warps*per + warps))
}

// factorLaunch builds the factorization kernel's launch for order k.
func factorLaunch(k, m int, a, lu, piv, logdet, status, info, firstBad cudadrv.DevicePtr) launch {
	const block = 128 // one thread per block: 4 warps a CTA
	if k <= maxSmallK {
		return launch{name: fmt.Sprintf("lu_factor_%d", k), grid: uint32((m + block - 1) / block), block: block,
			args: []any{int64(m), a, lu, piv, logdet, status, info, firstBad}}
	}
	w, shared := luWarps(k)
	return launch{name: "lu_factor_warp", grid: uint32((m + w - 1) / w), block: uint32(32 * w), shared: shared,
		args: []any{int32(k), int64(m), a, lu, piv, logdet, status, info, firstBad}}
}

// solveLaunch builds the solve kernel's launch (trans: with Aᵀ).
func solveLaunch(k, m int, trans bool, lu, piv, dst, v cudadrv.DevicePtr) launch {
	const block = 128
	t := ""
	if trans {
		t = "T"
	}
	grid := uint32((m + block - 1) / block)
	if k <= maxSmallK {
		return launch{name: fmt.Sprintf("lu_solve%s_%d", t, k), grid: grid, block: block,
			args: []any{int64(m), lu, piv, dst, v}}
	}
	return launch{name: "lu_solve" + t + "_gen", grid: grid, block: block,
		args: []any{int32(k), int64(m), lu, piv, dst, v}}
}

func checkBatch(k, m int) {
	if k < 1 || k > MaxK || m < 0 || m > math.MaxInt32 {
		panic(fmt.Sprintf("cuda: FactorBatch of %d blocks of order %d (orders 1 to %d, fewer than 2³¹ blocks)", m, k, MaxK))
	}
}

// FactorBatch factorizes the m blocks of order k in a, in batch-minor
// layout: entry (i, j) of block b is element (i*k+j)*m + b. a is not
// modified. It refuses the whole batch, returning a nil *BatchLU and a
// *BatchSingular for the first refused block, on the conditions of
// cpu.FactorBatch: a non-finite entry, a pivot |u_pp| ≤ RCondMin/k·max|A|,
// or pivot growth above GrowthMax. It panics unless 1 ≤ k ≤ MaxK and
// a.Len() == k*k*m.
func (b *Backend) FactorBatch(a *Tensor, k, m int) (*BatchLU, error) {
	checkBatch(k, m)
	b.same(a)
	if a.n != k*k*m {
		panic(fmt.Sprintf("cuda: FactorBatch of %d elements as %d blocks of order %d", a.n, m, k))
	}
	f := &BatchLU{be: b, k: k, m: m}
	var bad *BatchSingular
	err := b.do(func() error {
		var bufs [6]*Tensor
		defer func() { // the scratch buffers go back; the factors stay in f
			for _, t := range bufs[3:] {
				if t != nil {
					b.alloc.put(t.ptr, t.class)
				}
			}
		}()
		for i, bytes := range [6]int{8 * k * k * m, k * m, 8 * m, 4 * m, 8 * m, 4} {
			t, err := b.allocBytes(bytes, nil, 0)
			if err != nil {
				for _, u := range bufs[:i] {
					b.alloc.put(u.ptr, u.class)
				}
				bufs = [6]*Tensor{}
				return err
			}
			bufs[i] = t
		}
		f.lu, f.piv, f.logdet = bufs[0], bufs[1], bufs[2]
		f.lu.shape, f.lu.n = []int{k * k * m}, k*k*m
		f.logdet.shape, f.logdet.n = []int{m}, m
		status, info, firstBad := bufs[3], bufs[4], bufs[5]
		if m == 0 {
			return nil
		}
		if err := b.dev.memsetD32(firstBad.ptr, uint32(m), 1); err != nil {
			return err
		}
		if err := b.launch(factorLaunch(k, m, a.ptr, f.lu.ptr, f.piv.ptr, f.logdet.ptr, status.ptr, info.ptr, firstBad.ptr)); err != nil {
			return err
		}
		var first int32
		if err := b.dev.dtoh(unsafe.Pointer(&first), firstBad.ptr, 4); err != nil {
			return err
		}
		if int(first) >= m {
			return nil
		}
		var st int32
		var val float64
		if err := b.dev.dtoh(unsafe.Pointer(&st), status.ptr+cudadrv.DevicePtr(4*first), 4); err != nil {
			return err
		}
		if err := b.dev.dtoh(unsafe.Pointer(&val), info.ptr+cudadrv.DevicePtr(8*first), 8); err != nil {
			return err
		}
		bad = singular(int(first), st, val)
		return nil
	})
	if err != nil || bad != nil {
		f.free()
		if err != nil {
			return nil, err
		}
		return nil, bad
	}
	return f, nil
}

// Solve writes A_b⁻¹ v_b into dst for every block b; v and dst are in
// batch-minor layout (element i of block b at i*m + b) and dst may be v.
// It panics if v or dst does not have k*m elements.
func (f *BatchLU) Solve(dst, v *Tensor) error { return f.solve(dst, v, false) }

// SolveT writes A_b⁻ᵀ v_b into dst for every block b, as Solve.
func (f *BatchLU) SolveT(dst, v *Tensor) error { return f.solve(dst, v, true) }

func (f *BatchLU) solve(dst, v *Tensor, trans bool) error {
	if f.be == nil {
		panic("cuda: use of a freed BatchLU")
	}
	b := f.be
	b.same(dst, v)
	if dst.n != f.k*f.m || v.n != f.k*f.m {
		panic(fmt.Sprintf("cuda: BatchLU solve of %d blocks of order %d given %d and %d elements", f.m, f.k, v.n, dst.n))
	}
	if f.m == 0 {
		return nil
	}
	l := solveLaunch(f.k, f.m, trans, f.lu.ptr, f.piv.ptr, dst.ptr, v.ptr)
	return b.do(func() error { return b.launch(l) })
}

// LogAbsDets writes log|det A_b| into dst[b]. It panics if len(dst) != M().
func (f *BatchLU) LogAbsDets(dst []float64) error {
	if len(dst) != f.m {
		panic(fmt.Sprintf("cuda: LogAbsDets of %d blocks into %d elements", f.m, len(dst)))
	}
	return f.logdet.Download(dst)
}

// LogAbsDet returns Σ_b log|det A_b|, summed on the device (Sum's fixed
// order): one number comes back.
func (f *BatchLU) LogAbsDet() (float64, error) {
	if f.m == 0 {
		return 0, nil
	}
	b := f.be
	s, err := b.Alloc(1)
	if err != nil {
		return 0, err
	}
	defer s.Free()
	if err := b.Sum(s, f.logdet); err != nil {
		return 0, err
	}
	var out [1]float64
	if err := s.Download(out[:]); err != nil {
		return 0, err
	}
	return out[0], nil
}

// Free returns the factors' memory to the Backend's cache.
func (f *BatchLU) Free() { f.free() }

func (f *BatchLU) free() {
	for _, t := range []*Tensor{f.lu, f.piv, f.logdet} {
		if t != nil && t.be != nil {
			t.Free()
		}
	}
	f.be = nil
}
