// Command hashfloor measures the floor of indexing a directory of RPMs on
// this machine: two goroutines doing nothing but reading and SHA-256
// hashing every file, as any indexer must. bench/index.sh prints it next
// to acn and createrepo_c.
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

func main() {
	files, _ := filepath.Glob(filepath.Join(os.Args[1], "*.rpm"))
	var runs []time.Duration
	for range 5 {
		start := time.Now()
		ch := make(chan string, 64)
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 1<<20)
				for f := range ch {
					fh, err := os.Open(f)
					if err != nil {
						panic(err)
					}
					io.CopyBuffer(sha256.New(), struct{ io.Reader }{fh}, buf)
					fh.Close()
				}
			}()
		}
		for _, f := range files {
			ch <- f
		}
		close(ch)
		wg.Wait()
		runs = append(runs, time.Since(start))
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	fmt.Printf("%.4f\n", runs[len(runs)/2].Seconds())
}
