// Command signfloor measures the floor of signing RPMs on this machine:
// Go's crypto/rsa RSA-4096 PKCS#1 v1.5 signatures over SHA-256 digests,
// on one core and on every core, and nothing else. bench/sign.sh prints
// it next to acn sign and rpmsign.
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	key, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	digest := sha256.Sum256([]byte("header"))
	rate := func(workers int) float64 {
		var n atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < 3*time.Second {
					if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:]); err != nil {
						panic(err)
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		return float64(n.Load()) / time.Since(start).Seconds()
	}
	one := rate(1)
	cores := runtime.NumCPU()
	all := rate(cores)
	fmt.Printf("%.1f %d %.1f\n", one, cores, all)
}
