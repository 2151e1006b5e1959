//go:build unix

package experiments

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFolder takes an exclusive advisory lock (flock) on path, created if needed, without waiting. The
// kernel releases it when the process ends, however it ends, so a killed experiment leaves no stale lock.
func lockFolder(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errFolderLocked
		}
		return nil, fmt.Errorf("locking %q: %w", path, err)
	}
	return f, nil
}
