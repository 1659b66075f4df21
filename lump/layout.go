package lump

import "github.com/invad/invad/tape"

// Layout is how the inverse sweeps lay an analysis out: which atoms are
// killed, where each equation's rows and each killed atom sit in a lump's
// vectors, and which lumps' internal passes can be skipped. It depends on
// the analysis alone, so it is built once; the CPU sweeps (package inverse)
// and the device sweeps (package cuda) share it.
type Layout struct {
	// Killed[k]: atom k is a killed unknown of its lump.
	Killed []bool
	// InternalRead[li]: an equation outside lump li reads one of its
	// internal values (else VIJP's first internal pass is all zero).
	InternalRead []bool
	// InternalKnown[li]: an internal equation of lump li reads a value known
	// before it (else IJVP's first internal pass is all zero).
	InternalKnown []bool
	// EqOff[li][i]: the offset of lump li's i-th equation (Lumps[li].Eqs[i])
	// in the lump's vector of equation rows.
	EqOff [][]int
	// Places[li]: each killed atom of lump li as (atom, position) in the
	// lump's solution vector: a Step's is shaped like its pivot input, the
	// others' are killed-atom-major.
	Places [][][2]int
}

// Layout computes the analysis's Layout.
func (a *Analysis) Layout() *Layout {
	ly := &Layout{Killed: make([]bool, len(a.Atoms)), EqOff: make([][]int, len(a.Lumps)), Places: make([][][2]int, len(a.Lumps)),
		InternalKnown: make([]bool, len(a.Lumps)), InternalRead: make([]bool, len(a.Lumps))}
	for li, lp := range a.Lumps {
		for _, k := range lp.Killed {
			ly.Killed[k] = true
		}
		off := 0
		for _, q := range lp.Eqs {
			ly.EqOff[li] = append(ly.EqOff[li], off)
			off += a.Eqs[q].Len
		}
		ly.Places[li] = a.places(li)
		for _, q := range lp.Internal {
			for _, t := range a.Eqs[q].Touch {
				if a.LumpOf[t.Atom] != li {
					ly.InternalKnown[li] = true
				}
			}
		}
	}
	for li, lp := range a.Lumps {
		for _, q := range lp.Eqs {
			for _, t := range a.Eqs[q].Touch {
				if l2 := a.LumpOf[t.Atom]; l2 >= 0 && l2 != li && !ly.Killed[t.Atom] {
					ly.InternalRead[l2] = true
				}
			}
		}
	}
	return ly
}

func (a *Analysis) places(li int) [][2]int {
	lp := &a.Lumps[li]
	var out [][2]int
	if lp.Kind == Step {
		for _, sg := range a.Segs(lp.Node.In[lp.Input]) {
			for _, k := range a.AtomsIn(sg.Var, sg.Off, sg.Len) {
				out = append(out, [2]int{k, sg.Pos + a.Atoms[k].Off - sg.Off})
			}
		}
		return out
	}
	pos := 0
	for _, k := range lp.Killed {
		out = append(out, [2]int{k, pos})
		pos += a.Atoms[k].Len
	}
	return out
}

// Rows returns the total number of rows of the equations eqs.
func (a *Analysis) Rows(eqs []int) int {
	n := 0
	for _, q := range eqs {
		n += a.Eqs[q].Len
	}
	return n
}

// Sign is the sign of the coefficient of an equation's inputs: an op's
// equation dv − J du = 0 gives −1, the output's Σ J du = dy gives +1.
func (eq *Eq) Sign() float64 {
	if eq.Out {
		return 1
	}
	return -1
}

// SlotOf returns the first position among an op's inputs of the value at
// position i (an input read twice, as in x·x, has one value in two slots).
func SlotOf(in []*tape.Var, i int) int {
	for j, v := range in[:i] {
		if v == in[i] {
			return j
		}
	}
	return i
}
