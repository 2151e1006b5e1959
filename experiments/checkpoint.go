package experiments

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
	"github.com/gomlx/gomlx/pkg/ml/train"
	"github.com/gomlx/gomlx/pkg/ml/train/metrics"
)

// Checkpoints of a run. GoMLX's checkpoints.Handler writes the data file, then the metadata file, and lists
// a checkpoint by its metadata file; it loads the newest. A process killed while saving can therefore leave
// a newest checkpoint whose metadata file is cut short. Before loading, Run checks the newest checkpoints
// (CheckCheckpoint) and moves damaged ones aside ("damaged-…"), so that the previous one loads; the older
// checkpoints are deleted by the handler only after a new one is complete.

// checkpointer saves a run's checkpoints and learning curve at the times RunOptions asks for.
type checkpointer struct {
	h          *checkpoints.Handler
	dir        string
	everySteps int
	every      time.Duration
	last       time.Time
}

// due reports whether a checkpoint is due after step `step`; boundary is true at an epoch end or the last
// step.
func (c *checkpointer) due(step int, boundary bool) bool {
	return boundary || (c.everySteps > 0 && step%c.everySteps == 0) || (c.every > 0 && time.Since(c.last) >= c.every)
}

// save writes the learning curve up to now, then a checkpoint. The curve is written first and atomically (a
// reader sees the old or the new file, never a part): a process killed between the two resumes from the
// previous checkpoint and drops the curve's later points, whereas the other order would lose the points of
// the step just saved.
func (c *checkpointer) save(curve []EvalPoint) error {
	data, err := json.MarshalIndent(curve, "", " ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(c.dir, curveFile), data); err != nil {
		return err
	}
	if err := c.h.Save(); err != nil {
		return fmt.Errorf("saving checkpoint in %q: %w", c.dir, err)
	}
	c.last = time.Now()
	return nil
}

// writeFileAtomic writes data to a temporary file in path's folder and renames it to path.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err2 := tmp.Close(); err == nil {
		err = err2
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}

// openCheckpoint creates the checkpoint handler of a run: with Resume, damaged newest checkpoints are moved
// aside and the newest intact one (if any) is attached to ctx, its variables loaded as they are created;
// without Resume, a folder that already holds checkpoints is refused.
func openCheckpoint(ctx *context.Context, cfg RunConfig, opts RunOptions) (*checkpointer, error) {
	keep := opts.KeepCheckpoints
	if keep <= 0 {
		keep = 2
	}
	if err := os.MkdirAll(opts.Checkpoint, 0o755); err != nil {
		return nil, fmt.Errorf("run %q: checkpoint folder: %w", cfg.Variant, err)
	}
	if !opts.Resume && HasCheckpoints(opts.Checkpoint) {
		return nil, fmt.Errorf("run %q: checkpoint folder %q already holds checkpoints: use -resume to continue, or another folder",
			cfg.Variant, opts.Checkpoint)
	}
	if opts.Resume {
		if err := setAsideDamaged(opts.Checkpoint, opts.Notes); err != nil {
			return nil, fmt.Errorf("run %q: %w", cfg.Variant, err)
		}
	}
	h, err := checkpoints.Build(ctx).Dir(opts.Checkpoint).Keep(keep).Done()
	if err != nil {
		return nil, fmt.Errorf("run %q: checkpoint folder %q: %w", cfg.Variant, opts.Checkpoint, err)
	}
	return &checkpointer{h: h, dir: opts.Checkpoint, everySteps: opts.SaveEverySteps, every: opts.SaveEvery,
		last: time.Now()}, nil
}

// HasCheckpoints reports whether dir holds GoMLX checkpoints ("checkpoint-*" files).
func HasCheckpoints(dir string) bool {
	entries, err := filepath.Glob(filepath.Join(dir, "checkpoint-*"))
	return err == nil && len(entries) > 0
}

// listCheckpoints returns the base names of the checkpoints in dir, oldest first, as GoMLX lists them.
func listCheckpoints(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "checkpoint-*"+checkpoints.JsonNameSuffix))
	if err != nil {
		return nil, err
	}
	bases := make([]string, len(matches))
	for i, m := range matches {
		bases[i] = strings.TrimSuffix(filepath.Base(m), checkpoints.JsonNameSuffix)
	}
	return bases, nil // filepath.Glob sorts, as GoMLX does.
}

// setAsideDamaged checks the checkpoints of dir from the newest: damaged ones newer than the newest intact
// one are renamed "damaged-<name>" (and reported to log); when none is intact it returns an error describing
// each, leaving the files in place.
func setAsideDamaged(dir string, log io.Writer) error {
	bases, err := listCheckpoints(dir)
	if err != nil {
		return err
	}
	var damaged []string
	var problems []error
	for i := len(bases) - 1; i >= 0; i-- {
		err := CheckCheckpoint(dir, bases[i])
		if err == nil {
			for _, base := range damaged {
				for _, suffix := range []string{checkpoints.JsonNameSuffix, checkpoints.BinDataSuffix} {
					_ = os.Rename(filepath.Join(dir, base+suffix), filepath.Join(dir, "damaged-"+base+suffix))
				}
			}
			for _, p := range problems {
				if log != nil {
					_, _ = fmt.Fprintf(log, "%v: set aside as damaged-*; resuming from %s\n", p, bases[i])
				}
			}
			return nil
		}
		damaged, problems = append(damaged, bases[i]), append(problems, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("no intact checkpoint in %q: %w", dir, errors.Join(problems...))
	}
	return nil
}

// CheckCheckpoint checks that the checkpoint base (e.g. "checkpoint-n0000003-20261128-180000-step-00000440")
// in dir is complete and consistent, without loading it: its metadata decodes, every variable has a known
// data type, non-negative dimensions and a byte length that matches them, the variables are stored back to
// back, and the (decompressed) data file holds exactly their bytes. The error names the file and the problem.
func CheckCheckpoint(dir, base string) error {
	metaPath := filepath.Join(dir, base+checkpoints.JsonNameSuffix)
	data, err := os.ReadFile(metaPath)
	if err != nil {
		return fmt.Errorf("checkpoint %q: %w", metaPath, err)
	}
	var meta struct {
		Variables []struct {
			ParameterName string
			Dimensions    []int
			DType         dtypes.DType
			Pos, Length   int
		}
	}
	if err := json.Unmarshal(data, &meta); err != nil {
		return fmt.Errorf("checkpoint %q: metadata file damaged (%d bytes): %w", metaPath, len(data), err)
	}
	want := 0
	for _, v := range meta.Variables {
		n := dtypeSize(v.DType)
		if n <= 0 {
			return fmt.Errorf("checkpoint %q: variable %q: unknown data type %d", metaPath, v.ParameterName, int(v.DType))
		}
		for _, d := range v.Dimensions {
			if d < 0 || (d > 0 && n > math.MaxInt32/d) {
				return fmt.Errorf("checkpoint %q: variable %q: bad dimensions %v", metaPath, v.ParameterName, v.Dimensions)
			}
			n *= d
		}
		if v.Pos != want || v.Length != n {
			return fmt.Errorf("checkpoint %q: variable %q %s%v: stored at byte %d with length %d, want %d and %d",
				metaPath, v.ParameterName, v.DType, v.Dimensions, v.Pos, v.Length, want, n)
		}
		want += n
	}
	return checkDataFile(filepath.Join(dir, base+checkpoints.BinDataSuffix), want)
}

// dtypeSize returns the size in bytes of a value of dtype, or 0 for a data type GoMLX cannot store.
func dtypeSize(dtype dtypes.DType) (size int) {
	defer func() {
		if recover() != nil {
			size = 0 // DType.GoType panics on an unknown type.
		}
	}()
	if dtype == dtypes.InvalidDType {
		return 0
	}
	return dtype.Size()
}

// checkDataFile checks that the data file of a checkpoint (raw, or GoMLX's header then gzip) holds exactly
// want bytes.
func checkDataFile(path string, want int) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("checkpoint data %q: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	const header = "gomlx_checkpoints" // then a length byte and the compression's name: "\x04gzip"
	head := make([]byte, len(header)+5)
	n, _ := io.ReadFull(f, head)
	if n == 0 {
		return fmt.Errorf("checkpoint data %q: empty file", path) // GoMLX cannot read its header
	}
	var r io.Reader = io.MultiReader(bytes.NewReader(head[:n]), f)
	if n >= len(header) && string(head[:len(header)]) == header {
		if string(head[len(header):n]) != "\x04gzip" {
			return fmt.Errorf("checkpoint data %q: unsupported compression header %q", path, head[len(header):n])
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			return fmt.Errorf("checkpoint data %q: damaged gzip stream: %w", path, err)
		}
		r = zr
	}
	got, err := io.Copy(io.Discard, io.LimitReader(r, int64(want)+1))
	if err != nil {
		return fmt.Errorf("checkpoint data %q: damaged after %d bytes: %w", path, got, err)
	}
	if got != int64(want) {
		return fmt.Errorf("checkpoint data %q: holds %d bytes, the metadata announces %d", path, got, want)
	}
	return nil
}

// restoreMetricState gives the metrics of trainer the state saved in the checkpoint. GoMLX keeps a metric's
// state (e.g. "mean" and "count" of a moving average) under the scope "/metrics/<name>_uuid_<random uuid>",
// a new uuid in every process, so a resumed run would start its moving averages (the reported train_loss)
// from zero. The saved variables of each metric are found by the metric's name and created under the new
// scope with their saved values (non-trainable), and the stale copies are dropped from the checkpoint.
func (c *checkpointer) restoreMetricState(ctx *context.Context, trainer *train.Trainer) {
	const uuidLen = 36
	for _, m := range append(trainer.TrainMetrics(), trainer.EvalMetrics()...) {
		scope := context.ScopeSeparator + metrics.Scope + context.ScopeSeparator + m.ScopeName()
		if len(scope) <= uuidLen {
			continue
		}
		for param, value := range c.h.LoadedVariables() {
			oldScope, name := context.VariableScopeAndNameFromParameterName(param)
			if len(oldScope) != len(scope) || oldScope[:len(scope)-uuidLen] != scope[:len(scope)-uuidLen] {
				continue
			}
			ctx.Checked(false).InAbsPath(scope).VariableWithValue(name, value).SetTrainable(false)
			_ = c.h.DeleteVariable(ctx, oldScope, name)
		}
	}
}

// curveFile is the file, in the checkpoint folder, that keeps the learning curve of a run across resumptions.
const curveFile = "curve.json"

func readCurve(dir string) ([]EvalPoint, error) {
	p := filepath.Join(dir, curveFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var curve []EvalPoint
	if err := json.Unmarshal(data, &curve); err != nil {
		return nil, fmt.Errorf("reading learning curve %q: %w", p, err)
	}
	return curve, nil
}
