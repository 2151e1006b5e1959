package experiments

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// sklearnSplits is the fixture written by scripts/sklearn_shufflesplit.py with scikit-learn itself.
type sklearnSplits struct {
	Cases []struct {
		N           int     `json:"n"`
		RandomState uint64  `json:"random_state"`
		TestSize    float64 `json:"test_size"`
		Splits      []struct {
			NTrain        int    `json:"n_train"`
			NTest         int    `json:"n_test"`
			TrainChecksum uint64 `json:"train_checksum"`
			TestChecksum  uint64 `json:"test_checksum"`
			Train         []int  `json:"train"`
			Test          []int  `json:"test"`
			TrainHead     []int  `json:"train_head"`
			TrainTail     []int  `json:"train_tail"`
			TestHead      []int  `json:"test_head"`
			TestTail      []int  `json:"test_tail"`
		} `json:"splits"`
	} `json:"cases"`
}

func readSklearnSplits(t *testing.T) sklearnSplits {
	t.Helper()
	data, err := os.ReadFile("testdata/sklearn_shufflesplit.json")
	if err != nil {
		t.Fatal(err)
	}
	var f sklearnSplits
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("fixture holds no cases")
	}
	return f
}

// splitChecksum is the fixture's checksum: sum over i of (i+1)·index_i modulo 2^61-1.
func splitChecksum(idx []int) uint64 {
	const mod = 1<<61 - 1
	var s uint64
	for i, v := range idx {
		s = (s + (uint64(i+1)*uint64(v))%mod) % mod
	}
	return s
}

// TestShuffleSplitMatchesScikitLearn compares ShuffleSplit with the indices scikit-learn's
// ShuffleSplit(n_splits=5, test_size=0.1, random_state) gave (fixture made by scripts/sklearn_shufflesplit.py):
// full lists for small n, heads, tails and checksums of the full lists for n = 70000 (MNIST pooled) and 1000.
func TestShuffleSplitMatchesScikitLearn(t *testing.T) {
	f := readSklearnSplits(t)
	for _, c := range f.Cases {
		for k, s := range c.Splits {
			train, val, err := ShuffleSplit(c.N, k, c.TestSize, c.RandomState)
			if err != nil {
				t.Fatalf("n=%d split %d: %v", c.N, k, err)
			}
			if len(train) != s.NTrain || len(val) != s.NTest {
				t.Fatalf("n=%d split %d: sizes %d/%d, scikit-learn %d/%d", c.N, k, len(train), len(val), s.NTrain, s.NTest)
			}
			check := func(what string, got, want []int) {
				if want != nil && !slices.Equal(got, want) {
					t.Errorf("n=%d random_state=%d split %d %s: got %v, scikit-learn %v", c.N, c.RandomState, k, what,
						got[:min(len(got), 10)], want[:min(len(want), 10)])
				}
			}
			check("train", train, s.Train)
			check("test", val, s.Test)
			check("train head", train[:min(20, len(train))], s.TrainHead)
			check("train tail", train[max(0, len(train)-20):], s.TrainTail)
			check("test head", val[:min(20, len(val))], s.TestHead)
			check("test tail", val[max(0, len(val)-20):], s.TestTail)
			if got := splitChecksum(train); got != s.TrainChecksum {
				t.Errorf("n=%d split %d: train checksum %d, scikit-learn %d", c.N, k, got, s.TrainChecksum)
			}
			if got := splitChecksum(val); got != s.TestChecksum {
				t.Errorf("n=%d split %d: test checksum %d, scikit-learn %d", c.N, k, got, s.TestChecksum)
			}
		}
	}
}

// TestNumpyLegacyRNG checks the MT19937 stream's first output for init_genrand(5489) (3499211612, the
// reference implementation's) and for seed 0 (2357136044, numpy's RandomState(0)._bit_generator.random_raw()),
// and the bounded draw's range.
func TestNumpyLegacyRNG(t *testing.T) {
	for _, tc := range []struct {
		seed uint32
		want uint32
	}{{5489, 3499211612}, {0, 2357136044}} {
		if got := newNumpyLegacyRNG(tc.seed).uint32(); got != tc.want {
			t.Errorf("seed %d: first output %d, want %d", tc.seed, got, tc.want)
		}
	}
	r := newNumpyLegacyRNG(1)
	for _, max := range []uint64{0, 1, 2, 6, 7, 8, 1 << 33} {
		for range 200 {
			if v := r.interval(max); v > max {
				t.Fatalf("interval(%d) = %d", max, v)
			}
		}
	}
}

func TestShuffleSplitSeedRange(t *testing.T) {
	if _, _, err := ShuffleSplit(10, 0, 0.1, MaxSplitSeed+1); err == nil {
		t.Error("split_seed 2^32 must be refused (numpy's RandomState takes seeds up to 2^32-1)")
	}
	if _, _, err := ShuffleSplit(10, 0, 0.95, 0); err == nil {
		t.Error("val_fraction 0.95 of 10 leaves no training example and must be refused, as in scikit-learn")
	}
}
