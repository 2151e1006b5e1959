package experiments

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// ForEach calls fn(i) for every i in [0, n), at most parallel calls at a time (parallel ≤ 0 means
// runtime.NumCPU()), and returns when all have returned. It is the worker pool of Compare and of the
// attack experiment; fn must do its own locking around shared state.
func ForEach(n, parallel int, fn func(i int)) {
	if parallel <= 0 {
		parallel = runtime.NumCPU()
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// ResultStore keeps the finished units of an experiment (a run, a victim's attacks) as JSON files in a
// folder, written as they finish, so that an experiment killed and re-run with the same folder keeps them
// and does only the rest. The folder also records the experiment's design: re-running it with another
// design is an error rather than a silent mix. A nil *ResultStore keeps nothing.
type ResultStore struct {
	dir  string
	lock *os.File // held while the store is open, so that a second experiment cannot write the same folder
}

// errFolderLocked is returned by lockFolder when another open store holds the lock.
var errFolderLocked = errors.New("locked")

// Close releases the folder for other experiments; a nil store and a second Close do nothing.
func (s *ResultStore) Close() error {
	if s == nil || s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// OpenResultStore opens (creating it if needed) the store of an experiment of the given kind (e.g.
// "compare") in dir, with design the experiment's configuration (JSON-encodable, without the settings that
// do not change results). It returns nil for an empty dir, and an error naming the fields that differ when dir
// holds the results of another design.
func OpenResultStore(dir, kind string, design any) (*ResultStore, error) {
	if dir == "" {
		return nil, nil
	}
	s := &ResultStore{dir: filepath.Join(dir, kind+"-runs")}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	lock, err := lockFolder(filepath.Join(s.dir, ".lock"))
	if errors.Is(err, errFolderLocked) {
		return nil, fmt.Errorf("output folder %q is in use by another running experiment (it holds %s): wait for it, stop it, or choose another output folder",
			dir, filepath.Join(s.dir, ".lock"))
	}
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if err := s.checkDesign(dir, design); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// checkDesign records design in the store, or checks it against the one recorded.
func (s *ResultStore) checkDesign(dir string, design any) error {
	want, err := json.MarshalIndent(design, "", "  ")
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, "design.json")
	have, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return writeFileAtomic(path, want)
	}
	if err != nil {
		return err
	}
	if diff := jsonFieldsDiffer(have, want); len(diff) > 0 {
		return fmt.Errorf("output folder %q holds the results of another design (%s differ): choose another output folder, or remove %q to start over",
			dir, strings.Join(diff, ", "), s.dir)
	}
	return nil
}

// jsonFieldsDiffer returns the top-level keys whose values differ between two JSON objects (all of "design"
// when either does not decode).
func jsonFieldsDiffer(a, b []byte) []string {
	var ma, mb map[string]any
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil {
		return []string{"design"}
	}
	var diff []string
	for k := range ma {
		if !reflect.DeepEqual(ma[k], mb[k]) {
			diff = append(diff, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			diff = append(diff, k)
		}
	}
	slices.Sort(diff)
	return diff
}

// Load reads the unit called name into v and reports whether it was there.
func (s *ResultStore) Load(name string, v any) bool {
	if s == nil {
		return false
	}
	data, err := os.ReadFile(s.path(name))
	return err == nil && json.Unmarshal(data, v) == nil
}

// Save writes the unit called name (atomically: a killed process leaves the old file or none).
func (s *ResultStore) Save(name string, v any) error {
	if s == nil {
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path(name), data)
}

func (s *ResultStore) path(name string) string {
	return filepath.Join(s.dir, strings.NewReplacer("/", "_", string(filepath.Separator), "_").Replace(name)+".json")
}
