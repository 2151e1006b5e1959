package experiments

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bio-transformations/go-bio/bio"
	"github.com/bio-transformations/go-bio/models"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// The protocols of a comparison or run.
const (
	// ProtocolOurs is this project's short protocol: SGD lr DefaultLR, few epochs, unnormalised pixels in
	// [0, 1], the full design of DesignVariants (factorial and one-at-a-time variants).
	ProtocolOurs = "ours"
	// ProtocolPaper is the authors' protocol (shared/PAPER-PROTOCOL.md, section 1): plain SGD lr 1e-3, batch
	// 100, 200 epochs, inputs standardised with MNIST's mean and std, ν 0.09, d 14 every step, the 4 × 2
	// grid rejuvenation × fuzzy × Γ ∈ {0, 2} (classifier unsplit) plus the weight-splitting control, MNIST
	// train+test pooled and split by scikit-learn's ShuffleSplit(5, test_size=0.1, random_state=0), the
	// authors' model sizes (FCNet 784-1000-10, AlexNetMini, ResNets 6-12-24 on MNIST).
	ProtocolPaper = "paper"
)

// Protocols lists the known protocol names.
var Protocols = []string{ProtocolOurs, ProtocolPaper}

// Normalization standardises the inputs inside the model graph: x' = (x − Mean) / Std, on the pixels as
// loaded (x/255 in [0, 1]), like torchvision's ToTensor followed by Normalize.
type Normalization struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// MNISTNormalization is the authors' MNIST normalisation: mean 0.1307, std 0.3081.
var MNISTNormalization = Normalization{Mean: 0.1307, Std: 0.3081}

// Validate returns an error naming an invalid std.
func (n Normalization) Validate() error {
	if !(n.Std > 0) {
		return fmt.Errorf("normalize: std=%g must be > 0", n.Std)
	}
	return nil
}

// wrap returns modelFn applied to standardised inputs (the first input only; labels are not inputs).
func (n Normalization) wrap(modelFn train.ModelFn) train.ModelFn {
	return func(ctx *context.Context, spec any, inputs []*graph.Node) []*graph.Node {
		x := inputs[0]
		if !x.DType().IsFloat() {
			x = graph.ConvertDType(x, dtypes.Float32)
		}
		x = graph.DivScalar(graph.AddScalar(x, -n.Mean), n.Std)
		return modelFn(ctx, spec, append([]*graph.Node{x}, inputs[1:]...))
	}
}

// PaperStageWidths returns the stage widths of the authors' ResNets on MNIST (1 channel, 10 classes): 6, 12, 24.
func PaperStageWidths() []int { return models.AuthorsResNetWidths(1, 10) }

// isResNet reports whether name is one of the ResNets of PaperModels.
func isResNet(name string) bool {
	return slices.Contains([]string{"resnet20", "resnet32", "resnet44", "resnet56"}, strings.ToLower(name))
}

// ResNetWithStageWidths returns the model function of ResNet name ("resnet20" … "resnet56") with the given
// three stage widths (no width multiplier), 10 classes.
func ResNetWithStageWidths(name string, widths []int) (train.ModelFn, error) {
	if !isResNet(name) {
		return nil, fmt.Errorf("experiments: stage widths %v are for resnet20, resnet32, resnet44 or resnet56, not model %q", widths, name)
	}
	if len(widths) != 3 || slices.Min(widths) <= 0 {
		return nil, fmt.Errorf("experiments: stage widths %v must be three positive channel counts", widths)
	}
	var depth int
	_, _ = fmt.Sscanf(strings.ToLower(name), "resnet%d", &depth)
	cfg := models.DefaultResNetConfig()
	cfg.N = (depth - 2) / 6
	cfg.Widths = slices.Clone(widths)
	cfg.WidthMultiplier = 1
	return cfg.ModelFn, nil
}

// PaperProtocolCompareConfig is the authors' design (ProtocolPaper) for FCNet 784-1000-10: 5 splits (seeds
// 0…4 select ShuffleSplit's splits 0…4 of random_state 0), 200 epochs, SGD lr 1e-3, batch 100, MNIST
// normalisation, PaperBioConfig, the variants of PaperProtocolVariants. For a ResNet, set Model and
// StageWidths = PaperStageWidths(); Width 0 is the paper's size of every model.
func PaperProtocolCompareConfig() CompareConfig {
	c := DefaultCompareConfig()
	c.Protocol = ProtocolPaper
	c.Width, c.Seeds, c.FirstSeed, c.Epochs, c.LR, c.BatchSize = 0, NumFolds, 0, 200, PaperLR, DefaultBatchSize
	c.Split = SplitConfig{ValFraction: DefaultValFraction, SplitSeed: 0}
	norm := MNISTNormalization
	c.Normalize = &norm
	c.Base = PaperBioConfig()
	return c
}

// SplitStepControlName is the name of the weight-splitting control variant (see PaperProtocolVariants).
const SplitStepControlName = "Γ2-halfstep"

// PaperProtocolVariants returns the variants of ProtocolPaper built on base: the 8 factorial variants of
// DesignVariants (rejuvenation × fuzzy × Γ ∈ {0, 2}, "baseline" first), then the weight-splitting control
// SplitStepControlName: Γ2 with SplitStepFactor ½.
//
// Why this control. With Γ = 2 a group's two units a, b share u = w_a·x + w_b·x (the biases included):
// the effective weight is U = w_a + w_b, and since ∂L/∂w_a = ∂L/∂w_b = ∂L/∂U, one SGD step moves U by
// −2·lr·∂L/∂U. The next layer sees u twice, so its effective weight on u is V = v_a + v_b, which moves by
// −2·lr·∂L/∂V likewise. Γ2 is thus a half-width network whose effective weights train at twice the step
// (and start with twice the variance). Halving the step of exactly those weights (SplitStepFactor) makes
// every effective weight move by −lr·∂L/∂U, as a plain weight does under the baseline's SGD, while keeping
// Γ2's network, parameters and initialisation unchanged. So Γ2 versus the control measures the step-size
// effect alone, and the control versus the baseline measures multi-synaptic connectivity as such (with its
// summed initialisation). The other choice, the baseline with those layers' steps doubled, would change
// the network being compared as well as the step in the other corner; both give the same 2 × 2 contrast,
// and this one keeps the weight-splitting network fixed. For networks with BatchNorm after the split
// convolutions (the ResNets) the correction is exact for the convolution and classifier kernels but the
// per-channel BatchNorm parameters are not summed, so there it is approximate.
func PaperProtocolVariants(base bio.Config) []Variant {
	var vs []Variant
	for _, v := range DesignVariants(base) {
		if v.Group != GroupFactorial {
			continue
		}
		vs = append(vs, v)
		if v.Name == "Γ2" {
			c := *v.Bio
			vs = append(vs, Variant{Name: SplitStepControlName, Group: GroupFactorial, Bio: &c, SplitStepFactor: 0.5})
		}
	}
	return vs
}

// splitStepVariable reports whether weight splitting with the classifier unsplit doubles the effective step
// of the variable: every layer's kernel ("weights": split layers, and the classifier, which reads split
// units) and every bias except the classifier's (a scope with the element "output", e.g. "/output/dense",
// as every model of package models names it); BatchNorm's scale and offset are per
// channel, not summed, so they are not. It assumes, as for every model of package models with Γ = 2, that
// every layer but the classifier is split.
func splitStepVariable(v *context.Variable) bool {
	switch v.Name() {
	case "weights":
		return true
	case "biases":
		return !slices.Contains(strings.Split(v.Scope(), "/"), "output")
	}
	return false
}

// gradientUpdater is the part of GoMLX's SGD and Adam that applies given gradients.
type gradientUpdater interface {
	optimizers.Interface
	UpdateGraphWithGradients(ctx *context.Context, grads []*graph.Node, lossDType dtypes.DType)
}

// stepFactorOptimizer multiplies the gradients of the selected variables by factor before the wrapped
// optimizer applies them; with plain SGD this multiplies those variables' learning rate by factor. It
// implements UpdateGraphWithGradients too, so that the bio optimizer can wrap it.
type stepFactorOptimizer struct {
	gradientUpdater
	factor float64
	match  func(v *context.Variable) bool
}

// UpdateGraph implements optimizers.Interface.
func (o *stepFactorOptimizer) UpdateGraph(ctx *context.Context, g *graph.Graph, loss *graph.Node) {
	o.UpdateGraphWithGradients(ctx, ctx.BuildTrainableVariablesGradientsGraph(loss), loss.DType())
}

// UpdateGraphWithGradients scales the selected gradients (grads are in the order of
// ctx.BuildTrainableVariablesGradientsGraph: the trainable variables in use, enumerated) and applies them.
func (o *stepFactorOptimizer) UpdateGraphWithGradients(ctx *context.Context, grads []*graph.Node, lossDType dtypes.DType) {
	if len(grads) == 0 {
		return
	}
	g := grads[0].Graph()
	scaled := slices.Clone(grads)
	i := 0
	ctx.EnumerateVariables(func(v *context.Variable) {
		if !v.Trainable || !v.InUseByGraph(g) {
			return
		}
		if i < len(scaled) && o.match(v) {
			scaled[i] = graph.MulScalar(scaled[i], o.factor)
		}
		i++
	})
	if i != len(grads) {
		panic(fmt.Sprintf("experiments: step factor: %d trainable variables in use but %d gradients", i, len(grads)))
	}
	o.gradientUpdater.UpdateGraphWithGradients(ctx, scaled, lossDType)
}
