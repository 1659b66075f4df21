package sweep

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/invad/invad/lump"
)

// LumpInfo describes one lump: a diagonal block of the block triangular
// form of the program's extended Jacobian system.
type LumpInfo struct {
	Index int       // position in IJVP solve order (from y back to x)
	Kind  lump.Kind // Step, Batch, DenseLump, Sparse, Expansion or Copy (its String: "step", ...)
	Ops   []string  // the ops whose equations are in it, "name@position"
	Width int       // the order of its block A (0 for expansions)
	// Block is the order of each independent block an LU factorizes: K
	// for a batch lump (of M blocks K×K), Width for a dense or sparse
	// lump; 0 for steps, copies and expansions (their op rules, or none).
	Block int
	// Structure describes A: "diagonal 1000×1000", "500 blocks 2×2", ...
	Structure string
	// Factorization says how A was factorized.
	Factorization string
	LogAbsDet     float64
	// Growth is the largest pivot growth of a batched LU, or the 1-norm
	// condition estimate of a dense LU; 0 where not measured.
	Growth float64
	// Bytes is the memory its factorization holds (the engine's figure,
	// else the analysis's estimate from shapes).
	Bytes int64
}

// Lumps describes every lump, in solve order, from the analysis and the
// factors (which must all be built).
func (x *Exec[V]) Lumps() []LumpInfo {
	an := x.P.An
	out := make([]LumpInfo, len(an.Lumps))
	for i, lp := range an.Lumps {
		info := LumpInfo{Index: i, Kind: lp.Kind, Ops: an.LumpOps(i), Width: lp.Width}
		info.Structure = an.Structure(i)
		switch lp.Kind {
		case lump.Batch:
			info.Block = lp.K
		case lump.DenseLump, lump.Sparse:
			info.Block = lp.Width
		}
		switch lp.Kind.Form() {
		case lump.Direct:
			info.Factorization = "none (a JVP from known values)"
			if lp.Kind == lump.Copy {
				info.Factorization = "none (a range of y)"
			}
		case lump.OpRule:
			info.Factorization = "op rule"
		}
		if f := x.F[i]; f != nil {
			info.Factorization, info.Growth = f.Describe()
			info.LogAbsDet = f.LogAbsDet()
			info.Bytes = f.Bytes()
		}
		if info.Bytes == 0 {
			info.Bytes = lp.Bytes // the analysis's estimate
		}
		out[i] = info
	}
	return out
}

// WriteLumps prints the lump report as a table: one row per step, batch,
// dense and copy lump, with expansions counted in a closing line.
func WriteLumps(w io.Writer, lumps []LumpInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tkind\twidth\tops\tstructure of A\tfactorization\tlog|det A|\tgrowth/cond")
	expansions, total := 0, 0.0
	for _, l := range lumps {
		total += l.LogAbsDet
		if l.Kind == lump.Expansion {
			expansions++
			continue
		}
		g := "-"
		if l.Growth > 0 {
			g = fmt.Sprintf("%.3g", l.Growth)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%.6g\t%s\n", l.Index, l.Kind, l.Width, strings.Join(l.Ops, " "), l.Structure, l.Factorization, l.LogAbsDet, g)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d lumps (%d expansions: values recomputed by JVP, no solve); log|det J| = %.12g\n", len(lumps), expansions, total)
}
