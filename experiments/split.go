package experiments

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/bio-transformations/go-bio/datasets/idx"
)

// NumFolds is the number of ShuffleSplit folds of the paper's design.
const NumFolds = 5

// ShuffleSplitIndices names the algorithm behind ShuffleSplit's indices; experiments record it with their
// design, so that runs made with an earlier algorithm are not mixed with new ones.
const ShuffleSplitIndices = "scikit-learn ShuffleSplit indices (numpy legacy RandomState MT19937 permutation)"

// DefaultValFraction is the paper's validation fraction (10 %).
const DefaultValFraction = 0.1

// SplitConfig describes how the training and validation sets of a run are formed.
type SplitConfig struct {
	// TestSet, when true, trains on the official training set and validates on the official test set,
	// instead of the paper's merged ShuffleSplit.
	TestSet bool `json:"test_set"`
	// ValFraction is the validation fraction of the merged set (paper: 0.1). Ignored with TestSet.
	ValFraction float64 `json:"val_fraction"`
	// SplitSeed seeds the ShuffleSplit permutations (scikit-learn's random_state); the fold is chosen by the
	// run's seed (fold = seed mod NumFolds), so runs with the same seed share their split across variants.
	SplitSeed uint64 `json:"split_seed"`
	// TrainSize, when > 0, keeps only that many training examples (a seeded random subsample) for quick runs.
	TrainSize int `json:"train_size"`
	// ValSize, when > 0, keeps only that many validation examples (a seeded random subsample).
	ValSize int `json:"val_size"`
}

// Fold returns the fold used by a run with the given seed: seed mod NumFolds (non-negative).
func Fold(seed int64) int {
	f := int(seed % NumFolds)
	if f < 0 {
		f += NumFolds
	}
	return f
}

// MaxSplitSeed is the largest split seed (scikit-learn's random_state) that ShuffleSplit accepts: numpy's
// RandomState takes integer seeds in [0, 2^32-1].
const MaxSplitSeed = 1<<32 - 1

// ShuffleSplit returns the training and validation indices of split `fold` (0-based) of a ShuffleSplit of n
// examples, exactly as scikit-learn's ShuffleSplit(n_splits, test_size=valFraction, random_state=seed) gives
// them (same indices, same order): a numpy RandomState(seed) draws one permutation of [0, n) per split, in
// turn; split k's validation (test) set is the first ceil(valFraction·n) entries of the k-th permutation and
// its training set the rest (see numpyLegacyRNG). Folds may overlap in their validation sets, as in
// scikit-learn. experiments/testdata/sklearn_shufflesplit.json (made by scripts/sklearn_shufflesplit.py with
// scikit-learn itself) holds the reference indices the tests compare with.
func ShuffleSplit(n, fold int, valFraction float64, seed uint64) (train, val []int, err error) {
	if n < 2 {
		return nil, nil, fmt.Errorf("experiments: ShuffleSplit needs at least 2 examples, got n=%d", n)
	}
	if fold < 0 {
		return nil, nil, fmt.Errorf("experiments: ShuffleSplit fold=%d must be >= 0", fold)
	}
	if !(valFraction > 0 && valFraction < 1) {
		return nil, nil, fmt.Errorf("experiments: ShuffleSplit val_fraction=%g must be in (0, 1)", valFraction)
	}
	if seed > MaxSplitSeed {
		return nil, nil, fmt.Errorf("experiments: ShuffleSplit split_seed=%d must be in [0, %d] (numpy's RandomState seeds)",
			seed, uint64(MaxSplitSeed))
	}
	nVal := int(math.Ceil(float64(n) * valFraction))
	if nVal >= n {
		return nil, nil, fmt.Errorf("experiments: ShuffleSplit with n=%d and val_fraction=%g leaves no training example", n, valFraction)
	}
	rng := newNumpyLegacyRNG(uint32(seed))
	var perm []int
	for k := 0; k <= fold; k++ {
		perm = rng.permutation(n)
	}
	return perm[nVal:], perm[:nVal], nil
}

// subsample returns the first k indices of a seeded permutation of idxs (all of them when k <= 0 or k >= len).
func subsample(idxs []int, k int, seed uint64) []int {
	if k <= 0 || k >= len(idxs) {
		return idxs
	}
	rng := rand.New(rand.NewPCG(seed, 0x5b5a3e1))
	out := append([]int(nil), idxs...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:k]
}

// Split forms the training and validation sets of a run with the given seed from the official train and test
// sets, following cfg (see SplitConfig). The result is deterministic in (cfg, seed).
func Split(trainSet, testSet *idx.Dataset, cfg SplitConfig, seed int64) (train, val *idx.Dataset, err error) {
	if trainSet == nil || testSet == nil || trainSet.N == 0 || testSet.N == 0 {
		return nil, nil, fmt.Errorf("experiments: Split needs non-empty train and test sets")
	}
	var trainIdx, valIdx []int
	var pool *idx.Dataset
	sub := uint64(seed) ^ cfg.SplitSeed
	if cfg.TestSet {
		trainIdx = make([]int, trainSet.N)
		for i := range trainIdx {
			trainIdx[i] = i
		}
		valIdx = make([]int, testSet.N)
		for i := range valIdx {
			valIdx[i] = i
		}
		trainIdx = subsample(trainIdx, cfg.TrainSize, sub)
		valIdx = subsample(valIdx, cfg.ValSize, sub+1)
		if train, err = trainSet.Subset(trainSet.Name, trainIdx); err != nil {
			return nil, nil, err
		}
		if val, err = testSet.Subset(testSet.Name, valIdx); err != nil {
			return nil, nil, err
		}
		return train, val, nil
	}
	if pool, err = idx.Concat("merged", trainSet, testSet); err != nil {
		return nil, nil, err
	}
	frac := cfg.ValFraction
	if frac == 0 {
		frac = DefaultValFraction
	}
	fold := Fold(seed)
	if trainIdx, valIdx, err = ShuffleSplit(pool.N, fold, frac, cfg.SplitSeed); err != nil {
		return nil, nil, err
	}
	trainIdx = subsample(trainIdx, cfg.TrainSize, sub)
	valIdx = subsample(valIdx, cfg.ValSize, sub+1)
	if train, err = pool.Subset(fmt.Sprintf("train(fold %d)", fold), trainIdx); err != nil {
		return nil, nil, err
	}
	if val, err = pool.Subset(fmt.Sprintf("val(fold %d)", fold), valIdx); err != nil {
		return nil, nil, err
	}
	return train, val, nil
}
