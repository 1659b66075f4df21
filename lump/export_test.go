package lump

// ScalarizeShuffled exposes scalarize, whose rng shuffles the nonzeros so
// that tests can check the blocks do not depend on the matching found.
var ScalarizeShuffled = scalarize

// BlockList exposes the blocks as stored.
func (s *ScalarBTF) BlockList() []Block { return s.blocks }

// ExternalRead is a nonzero of block bi's equation Eq on unknown Unknown of
// another block.
type ExternalRead struct {
	Eq, Unknown Elem
	Block       int
}

// ExternalReads lists the nonzeros of block bi's equations outside it.
func (s *ScalarBTF) ExternalReads(bi int) []ExternalRead {
	var out []ExternalRead
	for i, r := range s.fac[bi].rows {
		for _, e := range s.fac[bi].ext[i] {
			out = append(out, ExternalRead{Eq: s.rows[r], Unknown: s.cols[e.col], Block: s.block[e.col]})
		}
	}
	return out
}
