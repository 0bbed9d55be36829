package inspect

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Found is an agent socket found by Scan.
type Found struct {
	PID  int
	Path string
}

// Scan lists the agent sockets in dir (DefaultDir if empty), by pid, and
// removes stale ones: sockets of processes that no longer exist, or that
// nothing listens on. It returns the live ones and the paths it removed. A
// missing directory means no agents. Each socket costs one connect.
func Scan(dir string) (live []Found, removed []string, err error) {
	if dir == "" {
		dir = DefaultDir()
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("inspect: scanning %s: %w", dir, err)
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".sock")
		if !ok || e.Type() != fs.ModeSocket {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil || pid <= 0 {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if !processAlive(pid) {
			if err := os.Remove(p); err == nil {
				removed = append(removed, p)
			}
			continue
		}
		if gone, _ := removeStale(p); gone {
			removed = append(removed, p)
			continue
		}
		live = append(live, Found{PID: pid, Path: p})
	}
	slices.SortFunc(live, func(a, b Found) int { return a.PID - b.PID })
	return live, removed, nil
}
