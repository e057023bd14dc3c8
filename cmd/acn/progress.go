package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/acn-project/acn/internal/humanize"
)

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// bar draws a one-line progress bar on a terminal, at most ten times a
// second, and erases it when done.
type bar struct {
	w     io.Writer
	label string
	count bool // units are things, not bytes
	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func (b *bar) update(done, total int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if done < total && time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	n := int(frac * width)
	amount := humanize.Bytes(done) + " / " + humanize.Bytes(total)
	if b.count {
		amount = fmt.Sprintf("%d / %d", done, total)
	}
	fmt.Fprintf(b.w, "\r%-28s [%s%s] %3d%% %s", b.label, strings.Repeat("#", n), strings.Repeat(".", width-n),
		int(frac*100), amount)
	b.drawn = true
}

func (b *bar) clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.drawn {
		fmt.Fprint(b.w, "\r\033[K")
		b.drawn = false
	}
}
