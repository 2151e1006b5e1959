package bio

import (
	_ "github.com/gomlx/gomlx/backends/simplego"
	_ "github.com/gomlx/gomlx/pkg/ml/train"
	_ "github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	_ "github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	_ "github.com/gomlx/gomlx/pkg/ml/layers"
	_ "github.com/gomlx/gomlx/pkg/ml/train/losses"
	_ "github.com/gomlx/gomlx/pkg/ml/train/metrics"
	_ "github.com/gomlx/gomlx/ui/commandline"
	_ "github.com/gomlx/gomlx/pkg/ml/layers/batchnorm"
	_ "github.com/gomlx/gomlx/pkg/ml/layers/activations"
)
