package experiments

import (
	"slices"
	"strings"
	"testing"

	"github.com/bio-transformations/go-bio/bio"
)

func TestRunSyntheticBaselineAndBio(t *testing.T) {
	trainSet, valSet := synthetic("train", 600, 1), synthetic("val", 200, 2)
	cfgBio := bio.DefaultConfig()
	cfgBio.FuzzyLearningRateFactorNu = 0.09
	cfgBio.RejuvenationParameterDre = 14
	cfgBio.WeightSplittingGamma = 2
	for _, tc := range []struct {
		name string
		bio  *bio.Config
	}{{"baseline", nil}, {"all-paper", &cfgBio}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := RunConfig{Variant: tc.name, Model: "fcnet", Width: 16, Bio: tc.bio, Seed: 3, Epochs: 2, LR: 0.5,
				BatchSize: 20, EvalEvery: 10}
			res, err := Run(cfg, trainSet, valSet, RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// 30 steps per epoch; evaluations at 10, 20, 30, 40, 50, 60.
			if res.Steps != 60 || res.StepsPerEpoch != 30 || len(res.Curve) != 6 || res.Curve[2].Epoch != 1 {
				t.Fatalf("steps %d, steps/epoch %d, curve %+v", res.Steps, res.StepsPerEpoch, res.Curve)
			}
			if res.FinalAccuracy < 0.6 {
				t.Errorf("final accuracy %.3f: the synthetic task should be learnt", res.FinalAccuracy)
			}
			// The moving-average training accuracy is recorded at every evaluation and follows the learning.
			for _, p := range res.Curve {
				if p.TrainAccuracy == nil || *p.TrainAccuracy < 0 || *p.TrainAccuracy > 1 {
					t.Fatalf("step %d: training accuracy %v, want a fraction", p.Step, p.TrainAccuracy)
				}
			}
			last := res.Curve[len(res.Curve)-1]
			if *last.TrainAccuracy < 0.5 || *last.TrainAccuracy <= *res.Curve[0].TrainAccuracy || last.TrainLoss >= res.Curve[0].TrainLoss {
				t.Errorf("training accuracy %.3f → %.3f, loss %.3f → %.3f: want learning", *res.Curve[0].TrainAccuracy,
					*last.TrainAccuracy, res.Curve[0].TrainLoss, last.TrainLoss)
			}
			t.Logf("%s: final acc %.3f, median step %.2f ms", tc.name, res.FinalAccuracy, res.MedianStepMs)
		})
	}
}

func TestRunInvalidConfig(t *testing.T) {
	d := synthetic("d", 50, 1)
	bad := bio.DefaultConfig()
	bad.DampeningFactor = 2
	tests := []struct {
		name    string
		cfg     RunConfig
		wantErr string
	}{
		{"epochs", RunConfig{Model: "fcnet", Epochs: 0, LR: 0.1, BatchSize: 10}, "epochs=0"},
		{"lr", RunConfig{Model: "fcnet", Epochs: 1, LR: -1, BatchSize: 10}, "lr=-1"},
		{"batch", RunConfig{Model: "fcnet", Epochs: 1, LR: 0.1, BatchSize: 0}, "batch_size=0"},
		{"batch-too-large", RunConfig{Model: "fcnet", Epochs: 1, LR: 0.1, BatchSize: 51}, "batch size 51"},
		{"model", RunConfig{Model: "nope", Epochs: 1, LR: 0.1, BatchSize: 10}, `unknown model "nope"`},
		{"bio", RunConfig{Model: "fcnet", Epochs: 1, LR: 0.1, BatchSize: 10, Bio: &bad}, "dampening_factor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(tc.cfg, d, d, RunOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestPaperModels(t *testing.T) {
	tests := []struct {
		name     string
		width    int
		kernels  int // weighted layers: 6n+2 for the ResNets
		firstOut int // output units of the first kernel
		lastIn   int // input units of the classifier's kernel
		wantErr  string
	}{
		{name: "fcnet", kernels: 2, firstOut: 1000, lastIn: 1000}, {name: "FCNet", width: 100, kernels: 2, firstOut: 100, lastIn: 100},
		{name: "alexnetmini", width: 50, kernels: 8, firstOut: 48, lastIn: 192},
		{name: "resnet20", kernels: 20, firstOut: 16, lastIn: 64}, {name: "resnet56", width: 50, kernels: 56, firstOut: 8, lastIn: 32},
		{name: "vgg", wantErr: `unknown model "vgg"`}, {name: "fcnet", width: -1, wantErr: "width=-1"},
	}
	for _, tc := range tests {
		fn, err := PaperModels(tc.name, tc.width)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s/%d: got %v, want %q", tc.name, tc.width, err, tc.wantErr)
			}
			continue
		}
		if err != nil || fn == nil {
			t.Fatalf("%s/%d: %v", tc.name, tc.width, err)
		}
		// Build the model (variables are created when the graph is built; nothing runs) and read its kernels.
		kernels := modelKernels(tc.name, fn)
		first, last := kernels[0], kernels[len(kernels)-1]
		if len(kernels) != tc.kernels || first[len(first)-1] != tc.firstOut || last[0] != tc.lastIn || last[1] != 10 {
			t.Errorf("%s/%d: %d kernels, first %v, classifier %v; want %d kernels, %d first outputs, classifier [%d 10]",
				tc.name, tc.width, len(kernels), first, last, tc.kernels, tc.firstOut, tc.lastIn)
		}
	}
}

// RunOptions.LowMemory changes how the bio step is scheduled, not what it computes: the same run gives the
// same curve; with a converter that is not a *bio.Converter it is an error naming the option.
func TestRunLowMemory(t *testing.T) {
	trainSet, valSet := synthetic("train", 200, 1), synthetic("val", 100, 2)
	cfgBio := bio.DefaultConfig()
	cfgBio.Crystallize, cfgBio.VolumeDependentLR = true, true
	cfg := RunConfig{Variant: "reference-loop", Model: "fcnet", Width: 16, Bio: &cfgBio, Seed: 3, Epochs: 1, LR: 0.5,
		BatchSize: 20, EvalEvery: 5}
	var curves [2][]float64
	for i, lowMemory := range []bool{false, true} {
		res, err := Run(cfg, trainSet, valSet, RunOptions{LowMemory: lowMemory})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range res.Curve {
			curves[i] = append(curves[i], p.TrainLoss, p.ValLoss)
		}
	}
	if len(curves[0]) == 0 || !slices.Equal(curves[0], curves[1]) {
		t.Fatalf("losses %v with the default schedule, %v with LowMemory: want the same", curves[0], curves[1])
	}
	wrapped := func(c bio.Config) (Mechanisms, error) {
		conv, err := bio.NewConverter(c)
		return struct{ *bio.Converter }{conv}, err
	}
	_, err := Run(cfg, trainSet, valSet, RunOptions{LowMemory: true, Converter: wrapped})
	if err == nil || !strings.Contains(err.Error(), "LowMemory") {
		t.Fatalf("LowMemory with a wrapped converter: got %v, want an error naming LowMemory", err)
	}
}
