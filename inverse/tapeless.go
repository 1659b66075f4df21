package inverse

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/invad/invad/batch"
	"github.com/invad/invad/lump"
	"github.com/invad/invad/sweep"
	"github.com/invad/invad/tape"
	"github.com/invad/invad/tensor"
)

// ErrValueDependent is returned by the tapeless VIJP when f reads a value
// while its structure is being recorded.
var ErrValueDependent = errors.New("inverse: f reads a varying value while the tapeless VIJP records its structure")

// StreamStats describes a tapeless sweep.
type StreamStats struct {
	// PeakHeld is the largest number of bytes the sweep held at once:
	// streamed op values kept for lumps not yet solved, cotangent
	// accumulators, and released buffers kept for reuse. It does not count
	// what f itself keeps alive.
	PeakHeld int64
	// Lumps is the number of lumps solved; LogAbsDet their log|det A| sum,
	// that is log|det J|.
	Lumps     int
	LogAbsDet float64
}

// VIJP solves Jᵀ·cy = cx for the program f at x without a tape. It runs f
// twice: once on a shape tape, which records the ops and shapes but
// computes nothing that depends on x, to find the lumps; then once for
// real, solving each lump of the transposed system as soon as its ops have
// run and every lump that feeds its accumulators is solved, and dropping
// each value once no lump needs it. Memory follows the program's live
// width, not its length.
//
// f must record the same ops on both runs and must not read a varying
// value (Var.Value) to decide what to record; otherwise the result is
// ErrValueDependent or an error naming the mismatch. Other errors and
// panics are those of Linearize and Linearization.VIJP. A batch stored as
// rows is streamed batch-minor where Linearize would analyze it so
// (package batch; AsRecorded turns it off).
func VIJP(f func(x *tape.Var) *tape.Var, x, cx *tensor.Tensor, opts ...Option) (*tensor.Tensor, error) {
	cy, _, err := VIJPStats(f, x, cx, opts...)
	return cy, err
}

// VIJPStats is VIJP that also reports what the sweep held.
func VIJPStats(f func(x *tape.Var) *tape.Var, x, cx *tensor.Tensor, opts ...Option) (*tensor.Tensor, StreamStats, error) {
	var st StreamStats
	if f == nil {
		panic("inverse: f is nil")
	}
	if x == nil || cx == nil {
		panic("inverse: tapeless VIJP with a nil x or cx")
	}
	if !tensor.SameShape(cx.Shape(), x.Shape()) {
		panic(fmt.Sprintf("inverse: tapeless VIJP: cx has shape %v, x has %v", cx.Shape(), x.Shape()))
	}
	if bad, i := x.HasNonFinite(); bad {
		return nil, st, &NonFiniteError{Where: "input x", Pos: -1, Index: i, Value: x.Data()[i]}
	}
	if bad, i := cx.HasNonFinite(); bad {
		return nil, st, &NonFiniteError{Where: "argument of VIJP", Pos: -1, Index: i, Value: cx.Data()[i]}
	}
	cfg := &Linearization{}
	for _, o := range opts {
		if o == nil {
			panic("inverse: a nil Option")
		}
		o(cfg)
	}
	prog, err := recordShapes(f, x)
	if err != nil {
		return nil, st, err
	}
	if !cfg.asRecorded && batch.Gains(prog) {
		// Samples as rows through X·W: stream the batch-minor program, as
		// Linearize analyzes it.
		if g, err := batch.MinorFunc(prog); err == nil {
			f = g
			if prog, err = recordShapes(f, x); err != nil {
				return nil, st, err
			}
		}
	}
	an, err := lump.AnalyzeLimits(prog, lump.Limits{Width: cfg.maxWidth, Bytes: cfg.maxBytes})
	if err != nil {
		return nil, st, err
	}
	sw := newStreamer(an, x, cx)
	tp := tape.NewStreamTape(sw.hook)
	in := tp.Input(x)
	sw.vals[in.ID()] = x
	out := f(in)
	if out == nil || out.Tape() != tp {
		panic("inverse: f returned nil or a value from another tape")
	}
	if sw.err == nil && (out.ID() != prog.Output.ID() || !tensor.SameShape(out.Shape(), prog.Output.Shape())) {
		sw.err = fmt.Errorf("inverse: tapeless VIJP: f returned value %d %v on its second run, value %d %v on its first", out.ID(), out.Shape(), prog.Output.ID(), prog.Output.Shape())
	}
	sw.vals[out.ID()] = out.Value()
	sw.run()
	if sw.err == nil && sw.done < len(an.Lumps) {
		sw.err = fmt.Errorf("inverse: tapeless VIJP solved %d of %d lumps", sw.done, len(an.Lumps))
	}
	st = StreamStats{PeakHeld: sw.peak, Lumps: sw.done, LogAbsDet: sw.x.LogDet}
	if sw.err != nil {
		return nil, st, sw.err
	}
	return sw.res, st, checkResult("VIJP", sw.res)
}

// recordShapes runs f on a shape tape.
func recordShapes(f func(x *tape.Var) *tape.Var, x *tensor.Tensor) (prog *tape.Program, err error) {
	tp := tape.NewShapeTape()
	in := tp.Input(x)
	defer func() {
		if r := recover(); r != nil {
			if re, ok := r.(runtime.Error); ok {
				err = fmt.Errorf("%w (%v)", ErrValueDependent, re)
				return
			}
			panic(r)
		}
	}()
	out := f(in)
	if err := checkOutput(tp, x, out); err != nil {
		return nil, err
	}
	return tp.Finish(in, out), nil
}

// streamer solves lumps while f runs.
type streamer struct {
	an    *lump.Analysis
	x     *cpuExec
	w     *sweep.Workspace[*tensor.Tensor]
	cx    *tensor.Tensor
	res   *tensor.Tensor
	xid   int
	vals  map[int]*tensor.Tensor
	nodes map[int]*tape.Node // kept ops by output ID
	need  map[int]int        // values: how many unsolved lumps read them
	reads [][]int            // per lump: the values its ops read or write
	after []int              // per lump: the tape position after which its ops have all run
	deps  []int              // per lump: unsolved lumps that feed its accumulators
	feeds [][]int            // per lump: the lumps it feeds
	left  map[int]int        // per base value: atoms in unsolved lumps
	ran   int                // op applications so far
	ready []int
	done  int
	held  int64
	peak  int64
	err   error
}

func newStreamer(an *lump.Analysis, x, cx *tensor.Tensor) *streamer {
	sw := &streamer{an: an, cx: cx, xid: an.Prog.Input.ID(), vals: map[int]*tensor.Tensor{},
		nodes: map[int]*tape.Node{}, need: map[int]int{}, left: map[int]int{},
		res: tensor.Zeros(an.Prog.Output.Shape()...)}
	sw.x = sweep.New(sweep.Compile(an), sweep.Engine[*tensor.Tensor](newStreamEngine(an.Prog, sw.value)))
	sw.w = sw.x.NewWorkspace()
	for _, nd := range an.Prog.Nodes {
		sw.nodes[nd.Out.ID()] = nd
	}
	nl := len(an.Lumps)
	sw.reads, sw.after, sw.deps, sw.feeds = make([][]int, nl), make([]int, nl), make([]int, nl), make([][]int, nl)
	for li, lp := range an.Lumps {
		sw.after[li] = -1
		seen := map[int]bool{}
		fed := map[int]bool{}
		for _, q := range lp.Eqs {
			eq := &an.Eqs[q]
			for _, t := range eq.Touch {
				if l2 := an.LumpOf[t.Atom]; l2 >= 0 && l2 != li && !fed[l2] {
					fed[l2] = true
					sw.feeds[li] = append(sw.feeds[li], l2)
					sw.deps[l2]++
				}
			}
			if eq.Node == nil {
				continue
			}
			sw.after[li] = max(sw.after[li], eq.Node.Pos)
			for _, v := range append(append([]*tape.Var(nil), eq.Node.In...), eq.Node.Out) {
				if !v.IsConst() && !seen[v.ID()] {
					seen[v.ID()] = true
					sw.reads[li] = append(sw.reads[li], v.ID())
					sw.need[v.ID()]++
				}
			}
		}
		for _, k := range lp.Unknowns {
			sw.left[an.Atoms[k].Var]++
		}
	}
	for li := range an.Lumps {
		if sw.deps[li] == 0 {
			sw.ready = append(sw.ready, li)
		}
	}
	return sw
}

// value gives an op value to the rules: constants from the shape tape,
// varying values from the stream.
func (sw *streamer) value(v *tape.Var) *tensor.Tensor {
	if v.IsConst() {
		return v.Value()
	}
	return sw.vals[v.ID()]
}

func (sw *streamer) hook(op tape.Op, in []*tape.Var, out *tape.Var) {
	pos := sw.ran
	sw.ran++
	if sw.err != nil {
		return
	}
	nd := sw.nodes[out.ID()]
	if nd == nil {
		return // dead code: no lump needs it
	}
	if nd.Pos != pos || nd.Op.Name() != op.Name() || !tensor.SameShape(nd.Out.Shape(), out.Shape()) || fmt.Sprint(op) != fmt.Sprint(nd.Op) {
		sw.err = fmt.Errorf("inverse: tapeless VIJP: f recorded %v %v at position %d on its second run, %v %v at position %d on its first",
			op, out.Shape(), pos, nd.Op, nd.Out.Shape(), nd.Pos)
		return
	}
	if sw.need[out.ID()] > 0 {
		sw.vals[out.ID()] = out.Value()
		sw.held += int64(out.Len()) * 8
		sw.track()
	}
	sw.run()
}

func (sw *streamer) track() {
	if h := sw.held + sw.w.Bytes + sw.w.FreeBytes; h > sw.peak {
		sw.peak = h
	}
}

// run solves every lump that is ready: its ops have run and no unsolved
// lump feeds it.
func (sw *streamer) run() {
	for sw.err == nil {
		k := -1
		for i, li := range sw.ready {
			if sw.after[li] < sw.ran {
				k = i
				break
			}
		}
		if k < 0 {
			return
		}
		li := sw.ready[k]
		sw.ready = append(sw.ready[:k], sw.ready[k+1:]...)
		sw.solve(li)
	}
}

func (sw *streamer) solve(li int) {
	x, w, an := sw.x, sw.w, sw.an
	if err := x.FactorLump(w, li); err != nil {
		sw.err = err
		return
	}
	x.VIJPLump(w, li, sw.res, sw.cx)
	if err := w.Done(); err != nil {
		sw.err = err
		return
	}
	sw.track()
	x.F[li] = nil
	sw.done++
	for _, l2 := range sw.feeds[li] {
		if sw.deps[l2]--; sw.deps[l2] == 0 {
			sw.ready = append(sw.ready, l2)
		}
	}
	for _, id := range sw.reads[li] {
		if sw.need[id]--; sw.need[id] == 0 && sw.vals[id] != nil {
			sw.held -= int64(sw.vals[id].Len()) * 8
			delete(sw.vals, id)
		}
	}
	for _, k := range an.Lumps[li].Unknowns {
		id := an.Atoms[k].Var
		if sw.left[id]--; sw.left[id] == 0 {
			w.Drop(id)
		}
	}
}
