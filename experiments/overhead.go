package experiments

import "github.com/bio-transformations/go-bio/bio"

// OverheadVariant is one set of mechanisms whose per-step cost is measured against plain training.
type OverheadVariant struct {
	Name string
	// Bio is nil for the plain optimizer.
	Bio *bio.Config
}

// OverheadVariants lists the mechanism sets that the step-time benchmarks (cmd/biobench and the Go
// benchmark of package bio) compare, cumulatively, as the reference package's measurements did: plain SGD;
// fuzzy learning rates; + volume-dependent lr and crystallization; + rejuvenation every step (the paper's
// loop); + synaptic scaling, Dale's principle, L1 and Γ = 2.
func OverheadVariants() []OverheadVariant {
	off := bio.DefaultConfig()
	off.FuzzyLearningRates, off.RejuvenateWeights = false, false
	fuzzy := off
	fuzzy.FuzzyLearningRates = true
	fvc := fuzzy
	fvc.VolumeDependentLR, fvc.Crystallize = true, true
	paper := fvc
	paper.RejuvenateWeights = true
	all := paper
	all.ScaleGrad, all.ApplyDalesPrinciple, all.L1Reg, all.WeightSplittingGamma = true, true, true, 2
	return []OverheadVariant{{Name: "plain SGD"}, {Name: "fuzzy", Bio: &fuzzy},
		{Name: "fuzzy+volume+crystallize", Bio: &fvc},
		{Name: "fuzzy+volume+crystallize+rejuvenation every step", Bio: &paper},
		{Name: "all mechanisms (+scaling, Dale, L1, Γ=2)", Bio: &all}}
}
