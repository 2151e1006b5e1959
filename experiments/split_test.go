package experiments

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/datasets/idx"
)

// labelled returns a data set whose example i has label i%10 and first pixel i/1000 (so examples are traceable).
func labelled(name string, n, offset int) *idx.Dataset {
	d := &idx.Dataset{Name: name, N: n, Rows: 1, Cols: 2, Images: make([]float32, 2*n), Labels: make([]int32, n)}
	for i := 0; i < n; i++ {
		d.Images[2*i] = float32(i+offset) / 1000
		d.Labels[i] = int32(i % 10)
	}
	return d
}

func ids(d *idx.Dataset) []int {
	out := make([]int, d.N)
	for i := range out {
		out[i] = int(d.Images[2*i]*1000 + 0.5)
	}
	return out
}

func TestShuffleSplit(t *testing.T) {
	tests := []struct {
		n, fold    int
		frac       float64
		wantTrain  int
		wantVal    int
		wantErrSub string
	}{
		{100, 0, 0.1, 90, 10, ""},
		{70000, 4, 0.1, 63000, 7000, ""},
		{11, 2, 0.1, 9, 2, ""}, // ceil(1.1) = 2, as scikit-learn.
		{1, 0, 0.1, 0, 0, "at least 2"},
		{10, -1, 0.1, 0, 0, "fold=-1"},
		{10, 0, 1.5, 0, 0, "val_fraction=1.5"},
	}
	for _, tc := range tests {
		tr, va, err := ShuffleSplit(tc.n, tc.fold, tc.frac, 0)
		if tc.wantErrSub != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) {
				t.Errorf("n=%d fold=%d frac=%g: got %v, want error with %q", tc.n, tc.fold, tc.frac, err, tc.wantErrSub)
			}
			continue
		}
		if err != nil || len(tr) != tc.wantTrain || len(va) != tc.wantVal {
			t.Fatalf("n=%d: got %d/%d, %v; want %d/%d", tc.n, len(tr), len(va), err, tc.wantTrain, tc.wantVal)
		}
		all := slices.Sorted(slices.Values(append(append([]int(nil), tr...), va...)))
		for i, v := range all {
			if v != i {
				t.Fatalf("n=%d: train ∪ val is not a partition of [0, n): %v...", tc.n, all[:min(20, len(all))])
			}
		}
	}
	a1, v1, _ := ShuffleSplit(1000, 1, 0.1, 5)
	a2, v2, _ := ShuffleSplit(1000, 1, 0.1, 5)
	_, v3, _ := ShuffleSplit(1000, 2, 0.1, 5)
	if !slices.Equal(a1, a2) || !slices.Equal(v1, v2) {
		t.Error("same seed and fold must give the same split")
	}
	if slices.Equal(v1, v3) {
		t.Error("different folds must give different validation sets")
	}
}

func TestSplit(t *testing.T) {
	train, test := labelled("train", 600, 0), labelled("test", 100, 600)
	tests := []struct {
		name               string
		cfg                SplitConfig
		seed               int64
		wantTrain, wantVal int
	}{
		{"paper", SplitConfig{}, 0, 630, 70},
		{"paper-fold3", SplitConfig{ValFraction: 0.2}, 3, 560, 140},
		{"subsample", SplitConfig{TrainSize: 100, ValSize: 30}, 1, 100, 30},
		{"test-set", SplitConfig{TestSet: true}, 0, 600, 100},
		{"test-set-subsample", SplitConfig{TestSet: true, TrainSize: 50, ValSize: 20}, 2, 50, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, va, err := Split(train, test, tc.cfg, tc.seed)
			if err != nil {
				t.Fatal(err)
			}
			if tr.N != tc.wantTrain || va.N != tc.wantVal {
				t.Fatalf("got %d/%d, want %d/%d", tr.N, va.N, tc.wantTrain, tc.wantVal)
			}
			seen := map[int]bool{}
			for _, id := range ids(tr) {
				if seen[id] {
					t.Fatalf("example %d twice in the training set", id)
				}
				seen[id] = true
			}
			for _, id := range ids(va) {
				if seen[id] {
					t.Fatalf("example %d in both training and validation sets", id)
				}
				if tc.cfg.TestSet && id < 600 {
					t.Fatalf("test-set mode: validation example %d comes from the training set", id)
				}
			}
			tr2, va2, _ := Split(train, test, tc.cfg, tc.seed)
			if !slices.Equal(ids(tr), ids(tr2)) || !slices.Equal(ids(va), ids(va2)) {
				t.Error("Split is not deterministic")
			}
			if !tc.cfg.TestSet {
				_, va3, _ := Split(train, test, tc.cfg, tc.seed+1)
				if slices.Equal(ids(va), ids(va3)) {
					t.Error("different seeds (folds) should give different validation sets")
				}
			}
		})
	}
	if _, _, err := Split(train, &idx.Dataset{Name: "empty"}, SplitConfig{}, 0); err == nil {
		t.Error("empty test set should fail")
	}
}

func TestBatches(t *testing.T) {
	d := labelled("d", 25, 0)
	tb, err := NewTrainBatches("train", d, 10, 7)
	if err != nil {
		t.Fatal(err)
	}
	if tb.StepsPerEpoch() != 2 {
		t.Fatalf("steps per epoch %d, want 2 (last incomplete batch dropped)", tb.StepsPerEpoch())
	}
	var seq [][]float32
	for step := 0; step < 6; step++ {
		_, in, lab, err := tb.Yield()
		if err != nil {
			t.Fatal(err)
		}
		if in[0].Shape().String() != "(Float32)[10 2]" || lab[0].Shape().String() != "(Int32)[10 1]" {
			t.Fatalf("shapes %s %s", in[0].Shape(), lab[0].Shape())
		}
		flat := in[0].Value().([][]float32)
		labels := lab[0].Value().([][]int32)
		var firsts []float32
		for j, row := range flat {
			id := int(row[0]*1000 + 0.5)
			if labels[j][0] != int32(id%10) {
				t.Fatalf("label %d does not match example %d", labels[j][0], id)
			}
			firsts = append(firsts, row[0])
		}
		seq = append(seq, firsts)
	}
	// Within an epoch the two batches are disjoint; epochs have different orders.
	for e := 0; e < 3; e++ {
		a, b := seq[2*e], seq[2*e+1]
		for _, x := range a {
			if slices.Contains(b, x) {
				t.Fatalf("epoch %d: example %v in both batches", e, x)
			}
		}
	}
	if slices.Equal(seq[0], seq[2]) {
		t.Error("epochs 0 and 1 have the same order: no reshuffle")
	}
	// Determinism and SeekStep: a new dataset positioned at step 3 yields batch 3.
	tb2, _ := NewTrainBatches("train", d, 10, 7)
	tb2.SeekStep(3)
	_, in, _, _ := tb2.Yield()
	got := in[0].Value().([][]float32)
	for j := range got {
		if got[j][0] != seq[3][j] {
			t.Fatalf("SeekStep(3) batch differs from the 4th batch")
		}
	}
	tb3, _ := NewTrainBatches("train", d, 10, 8)
	_, in, _, _ = tb3.Yield()
	got = in[0].Value().([][]float32)
	same := true
	for j := range got {
		same = same && got[j][0] == seq[0][j]
	}
	if same {
		t.Error("different seeds give the same first batch")
	}

	eb, err := NewEvalBatches("eval", d, 10)
	if err != nil {
		t.Fatal(err)
	}
	for pass := 0; pass < 2; pass++ {
		var sizes []int
		for {
			_, in, _, err := eb.Yield()
			if err == io.EOF {
				break
			}
			sizes = append(sizes, in[0].Shape().Dimensions[0])
		}
		if !slices.Equal(sizes, []int{10, 10, 5}) {
			t.Fatalf("eval pass %d: batch sizes %v, want [10 10 5]", pass, sizes)
		}
		eb.Reset()
	}
	for _, bs := range []int{0, 26} {
		if _, err := NewTrainBatches("x", d, bs, 0); err == nil || !strings.Contains(err.Error(), "batch size") {
			t.Errorf("batch size %d: got %v", bs, err)
		}
	}
	if _, err := NewEvalBatches("x", d, 0); err == nil {
		t.Error("eval batch size 0 should fail")
	}
}

func TestLearningSpeed(t *testing.T) {
	curve := []EvalPoint{{Step: 100, ValAccuracy: 0.85}, {Step: 200, ValAccuracy: 0.93}, {Step: 300, ValAccuracy: 0.96},
		{Step: 400, ValAccuracy: 0.94}, {Step: 500, ValAccuracy: 0.971}}
	tests := []struct {
		th   float64
		step int
		ok   bool
	}{{0.5, 100, true}, {0.9, 200, true}, {0.95, 300, true}, {0.97, 500, true}, {0.99, 0, false}, {0.93, 200, true}}
	for _, tc := range tests {
		if step, ok := StepsToAccuracy(curve, tc.th); step != tc.step || ok != tc.ok {
			t.Errorf("threshold %g: got %d, %v; want %d, %v", tc.th, step, ok, tc.step, tc.ok)
		}
	}
	if auc := CurveAUC(curve); !near(auc, (0.85+0.93+0.96+0.94+0.971)/5, 1e-12) {
		t.Errorf("AUC %v", auc)
	}
	if _, ok := StepsToAccuracy(nil, 0.1); ok {
		t.Error("empty curve reaches nothing")
	}
	if auc := CurveAUC(nil); auc == auc {
		t.Error("AUC of an empty curve must be NaN")
	}
}

func near(a, b, tol float64) bool { return a-b <= tol && b-a <= tol }
