package experiments

import (
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/bio-transformations/go-bio/datasets/idx"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// Batches serves an in-memory idx.Dataset in batches as a GoMLX train.Dataset: inputs [batch, features]
// float32 and labels [batch, 1] int32.
//
// Training mode (NewTrainBatches) shuffles by seed, drops the last incomplete batch (every batch has the same
// shape, so the training graph is compiled once) and never ends: at the end of an epoch it reshuffles and
// continues, so train.Loop.RunSteps / RunToGlobalStep can run any number of steps. The order of every epoch is
// a deterministic function of (seed, epoch), which lets a resumed run continue with the same batches
// (SeekStep).
//
// Evaluation mode (NewEvalBatches) yields each example exactly once, in order, the last batch possibly
// smaller, and then io.EOF until Reset.
type Batches struct {
	data      *idx.Dataset
	name      string
	batchSize int
	train     bool
	seed      uint64

	epoch int   // Current epoch (training mode).
	order []int // Example order of the current epoch.
	pos   int   // Next position in order.
}

var _ train.Dataset = (*Batches)(nil)

// NewTrainBatches returns an endless, shuffled training dataset (see Batches). It returns an error when the
// batch size is not positive or larger than the data set.
func NewTrainBatches(name string, data *idx.Dataset, batchSize int, seed int64) (*Batches, error) {
	if data == nil || batchSize <= 0 || batchSize > data.N {
		n := 0
		if data != nil {
			n = data.N
		}
		return nil, fmt.Errorf("experiments: training batches %q: batch size %d must be in [1, %d] (the number of examples)",
			name, batchSize, n)
	}
	b := &Batches{data: data, name: name, batchSize: batchSize, train: true, seed: uint64(seed)}
	b.shuffle()
	return b, nil
}

// NewEvalBatches returns a finite dataset that yields every example once, in order (see Batches).
func NewEvalBatches(name string, data *idx.Dataset, batchSize int) (*Batches, error) {
	if data == nil || data.N == 0 || batchSize <= 0 {
		return nil, fmt.Errorf("experiments: evaluation batches %q: need a non-empty data set and batch size > 0, got batch size %d",
			name, batchSize)
	}
	b := &Batches{data: data, name: name, batchSize: batchSize}
	b.order = make([]int, data.N)
	for i := range b.order {
		b.order[i] = i
	}
	return b, nil
}

// shuffle sets the order of the current epoch: a permutation drawn from a generator seeded by (seed, epoch).
func (b *Batches) shuffle() {
	rng := rand.New(rand.NewPCG(b.seed, uint64(b.epoch)+1))
	b.order = rng.Perm(b.data.N)
	b.pos = 0
}

// StepsPerEpoch returns the number of batches of one epoch (training: full batches only).
func (b *Batches) StepsPerEpoch() int {
	if b.train {
		return b.data.N / b.batchSize
	}
	return (b.data.N + b.batchSize - 1) / b.batchSize
}

// Epoch returns the current epoch (0-based) of a training dataset.
func (b *Batches) Epoch() int { return b.epoch }

// SeekStep positions a training dataset so that the next batch is the one of global step `step` (0-based),
// as if `step` batches had been yielded since creation. Used to resume from a checkpoint.
func (b *Batches) SeekStep(step int) {
	if !b.train || step < 0 {
		return
	}
	spe := b.StepsPerEpoch()
	b.epoch = step / spe
	b.shuffle()
	b.pos = (step % spe) * b.batchSize
}

// Name implements train.Dataset.
func (b *Batches) Name() string { return b.name }

// Reset implements train.Dataset. Evaluation: restart from the first example. Training: no-op (the dataset is
// endless and its order depends only on the step, see SeekStep).
func (b *Batches) Reset() {
	if !b.train {
		b.pos = 0
	}
}

// Yield implements train.Dataset, returning inputs [batch, features] and labels [batch, 1].
func (b *Batches) Yield() (spec any, inputs, labels []*tensors.Tensor, err error) {
	n := b.batchSize
	if b.train {
		if b.pos+n > len(b.order) {
			b.epoch++
			b.shuffle()
		}
	} else {
		if b.pos >= len(b.order) {
			return nil, nil, nil, io.EOF
		}
		n = min(n, len(b.order)-b.pos)
	}
	f := b.data.Features()
	x := make([]float32, n*f)
	y := make([]int32, n)
	for j, i := range b.order[b.pos : b.pos+n] {
		copy(x[j*f:(j+1)*f], b.data.Images[i*f:(i+1)*f])
		y[j] = b.data.Labels[i]
	}
	b.pos += n
	return nil, []*tensors.Tensor{tensors.FromFlatDataAndDimensions(x, n, f)},
		[]*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, n, 1)}, nil
}
