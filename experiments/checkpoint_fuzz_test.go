package experiments

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/checkpoints"
)

// FuzzCheckCheckpoint writes arbitrary metadata and data files as a checkpoint: CheckCheckpoint must not
// panic; a rejected checkpoint gets an error naming its file; an accepted one must load with GoMLX's
// checkpoints package, every variable with the announced shape.
func FuzzCheckCheckpoint(f *testing.F) {
	meta := `{"Params": [{"Scope": "/", "Key": "bio_seed", "Value": 3, "ValueType": "int64"}], "Variables": [` +
		`{"ParameterName": "var:///x", "Dimensions": [2], "DType": "Float32", "Pos": 0, "Length": 8},` +
		`{"ParameterName": "var:///#rngState", "Dimensions": [3], "DType": "Uint64", "Pos": 8, "Length": 24}], "BinFormat": "uncompressed"}`
	raw := make([]byte, 32)
	var z bytes.Buffer
	z.WriteString("gomlx_checkpoints\x04gzip")
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	f.Add([]byte(meta), raw)
	f.Add([]byte(meta), z.Bytes())
	f.Add([]byte(meta), z.Bytes()[:30])
	f.Add([]byte(meta[:60]), raw)
	f.Add([]byte(`{"Variables": [{"ParameterName": "var:///x", "Dimensions": [-1], "DType": "Float32", "Pos": 0, "Length": -4}]}`), raw)
	f.Add([]byte(`{"Variables": [{"ParameterName": "var:///x", "Dimensions": [65536, 65536], "DType": 99, "Pos": 0, "Length": 0}]}`), raw)
	f.Fuzz(func(t *testing.T, meta, data []byte) {
		dir := t.TempDir()
		base := "checkpoint-n0000001-20261128-180000-step-00000010"
		metaPath := filepath.Join(dir, base+checkpoints.JsonNameSuffix)
		_ = os.WriteFile(metaPath, meta, 0o644)
		_ = os.WriteFile(filepath.Join(dir, base+checkpoints.BinDataSuffix), data, 0o644)
		err := CheckCheckpoint(dir, base)
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		ctx := context.New()
		h, err := checkpoints.Build(ctx).Dir(dir).Done()
		if err != nil {
			t.Fatalf("CheckCheckpoint accepted a checkpoint GoMLX cannot load: %v", err)
		}
		for name, value := range h.LoadedVariables() {
			if value.Shape().Size() < 0 {
				t.Fatalf("variable %s loaded with shape %s", name, value.Shape())
			}
		}
	})
}
