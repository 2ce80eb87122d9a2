// Go net/http, the other anchor for bench/http_client_bench: N goroutines,
// each with one request in flight on a shared Transport
// (MaxIdleConnsPerHost=N), for D seconds. Run with GOMAXPROCS=1. Prints the
// same key=value line (CPU from getrusage over the measured part).
//
//	go_client -c N -d SECS -w WARM URL
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func cpu() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func main() {
	conns := flag.Int("c", 64, "connections")
	secs := flag.Float64("d", 5, "seconds")
	warm := flag.Int64("w", 1000, "warm-up requests")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: go_client [-c N] [-d SECS] [-w WARM] URL")
		os.Exit(2)
	}
	url := flag.Arg(0)
	tr := &http.Transport{MaxIdleConnsPerHost: *conns, MaxConnsPerHost: *conns,
		MaxIdleConns: *conns, DisableCompression: true}
	client := &http.Client{Transport: tr}
	var done, errs int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	worker := func() {
		defer wg.Done()
		for !stop.Load() {
			resp, err := client.Get(url)
			if err != nil {
				atomic.AddInt64(&errs, 1)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			atomic.AddInt64(&done, 1)
		}
	}
	wg.Add(*conns)
	for i := 0; i < *conns; i++ {
		go worker()
	}
	for atomic.LoadInt64(&done) < *warm {
		time.Sleep(time.Millisecond)
	}
	n0, c0, t0 := atomic.LoadInt64(&done), cpu(), time.Now()
	time.Sleep(time.Duration(*secs * float64(time.Second)))
	n1, c1, t1 := atomic.LoadInt64(&done), cpu(), time.Now()
	stop.Store(true)
	wg.Wait()
	n := float64(n1 - n0)
	wall := t1.Sub(t0).Seconds()
	fmt.Printf("requests=%d rps=%.0f cpu_us_per_req=%.3f wall_us_per_req=%.2f errors=%d\n",
		n1-n0, n/wall, (c1-c0)*1e6/n, wall*1e6/n, errs)
}
