package experiments

import (
	"fmt"
	"strings"

	"github.com/bio-transformations/go-bio/models"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// ModelFactory builds the model function of a named model; width is its size knob (0 selects the model's
// default). It returns an error for an unknown name or invalid width.
type ModelFactory func(name string, width int) (train.ModelFn, error)

// DefaultFCNetWidth is the hidden width of the paper's MNIST FCNet (784-1000-10).
const DefaultFCNetWidth = 1000

// ModelNames lists the names PaperModels accepts.
var ModelNames = []string{"fcnet", "alexnetmini", "resnet20", "resnet32", "resnet44", "resnet56"}

// PaperModels is the ModelFactory of the paper's networks (package models), all with 10 classes:
//   - "fcnet": in → width → 10 with ReLU (width 0 = 1000, the paper's 784-1000-10);
//   - "alexnetmini": 5 convolutions + 384-384 fully connected, ReLU6; width is the width multiplier in
//     percent (0 = 100, the paper's size);
//   - "resnet20", "resnet32", "resnet44", "resnet56": CIFAR ResNets; width is the width multiplier in percent.
//
// Flat MNIST inputs [batch, 784] are reshaped to 28×28×1 images by the convolutional models.
func PaperModels(name string, width int) (train.ModelFn, error) {
	if width < 0 {
		return nil, fmt.Errorf("experiments: model %q: width=%d must be >= 0", name, width)
	}
	multiplier := 1.0
	if width > 0 {
		multiplier = float64(width) / 100
	}
	n := strings.ToLower(name)
	switch n {
	case "fcnet", "mlp":
		if width == 0 {
			width = DefaultFCNetWidth
		}
		return models.FCNetConfig{Hidden: []int{width}, NumClasses: 10}.ModelFn, nil
	case "alexnetmini", "alexnet":
		cfg := models.DefaultAlexNetMiniConfig()
		cfg.WidthMultiplier = multiplier
		return cfg.ModelFn, nil
	case "resnet20", "resnet32", "resnet44", "resnet56":
		var depth int
		_, _ = fmt.Sscanf(n, "resnet%d", &depth)
		cfg := models.DefaultResNetConfig()
		cfg.N = (depth - 2) / 6
		cfg.WidthMultiplier = multiplier
		return cfg.ModelFn, nil
	}
	return nil, fmt.Errorf("experiments: unknown model %q (known: %s)", name, strings.Join(ModelNames, ", "))
}
