package experiments

// numpyLegacyRNG reproduces the stream of numpy's legacy generator np.random.RandomState(seed) for an integer
// seed, as far as permutation(n) needs it, so that ShuffleSplit gives scikit-learn's indices exactly.
//
// It is re-implemented from the published algorithms, not copied:
//   - MT19937 (Matsumoto and Nishimura 1998, "Mersenne Twister: a 623-dimensionally equidistributed uniform
//     pseudo-random number generator"), seeded by their init_genrand(s), which is what RandomState does for
//     an integer seed in [0, 2^32-1];
//   - RandomState.permutation(n) shuffles arange(n) in place with Fisher–Yates from the end: for i = n-1
//     down to 1, j = a uniform integer in [0, i], swap(i, j);
//   - the uniform integer in [0, max] is numpy's legacy bounded draw by masked rejection: mask = the smallest
//     2^k-1 >= max; draw 32-bit words (64-bit ones when max >= 2^32) and keep the first whose masked value
//     is <= max.
type numpyLegacyRNG struct {
	mt  [mtN]uint32
	pos int
}

const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// newNumpyLegacyRNG seeds the generator like np.random.RandomState(seed) (init_genrand).
func newNumpyLegacyRNG(seed uint32) *numpyLegacyRNG {
	r := &numpyLegacyRNG{pos: mtN}
	r.mt[0] = seed
	for i := 1; i < mtN; i++ {
		prev := r.mt[i-1]
		r.mt[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	return r
}

// twist regenerates the 624 words of state.
func (r *numpyLegacyRNG) twist() {
	for i := 0; i < mtN; i++ {
		y := (r.mt[i] & mtUpperMask) | (r.mt[(i+1)%mtN] & mtLowerMask)
		v := r.mt[(i+mtM)%mtN] ^ (y >> 1)
		if y&1 != 0 {
			v ^= mtMatrixA
		}
		r.mt[i] = v
	}
	r.pos = 0
}

// uint32 returns the next tempered 32-bit output (genrand_int32).
func (r *numpyLegacyRNG) uint32() uint32 {
	if r.pos >= mtN {
		r.twist()
	}
	y := r.mt[r.pos]
	r.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// uint64 returns a 64-bit draw made of two 32-bit outputs, the first as the high word (numpy's legacy
// next_uint64 for MT19937).
func (r *numpyLegacyRNG) uint64() uint64 {
	hi := uint64(r.uint32())
	return hi<<32 | uint64(r.uint32())
}

// interval returns a uniform integer in [0, max] by masked rejection sampling (numpy's legacy bounded draw).
func (r *numpyLegacyRNG) interval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := max
	for _, s := range []uint{1, 2, 4, 8, 16, 32} {
		mask |= mask >> s
	}
	if max <= 0xffffffff {
		for {
			if v := uint64(r.uint32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		if v := r.uint64() & mask; v <= max {
			return v
		}
	}
}

// permutation returns RandomState.permutation(n): arange(n) shuffled by Fisher–Yates from the end.
func (r *numpyLegacyRNG) permutation(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(r.interval(uint64(i)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}
