// grpc-load: a lean gRPC unary load generator for bench/, so that on a 2-core machine the
// generator is not what limits the measurement (ghz spends ~55 µs of CPU per call; this
// spends a fraction of that: requests are pre-encoded bytes, nothing is templated per call).
//
//	grpc-load -target 127.0.0.1:PORT -method /pkg.Service/Method -bodies FILE
//	          [-rps N] [-duration 10s] [-concurrency 50] [-connections 2]
//
// FILE holds the request messages, each prefixed by its length (uint32, big endian); calls
// cycle through them. -rps 0 runs closed-loop as fast as the workers go; otherwise calls are
// scheduled open-loop at that rate and each latency is measured from its scheduled start, so
// a stall shows in the percentiles instead of silently lowering the rate (no coordinated
// omission). Prints one JSON object.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/status"
)

// rawCodec sends and receives message bytes as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append((*(v.(*[]byte)))[:0], data...)
	return nil
}
func (rawCodec) Name() string { return "raw-bytes" }

var _ encoding.Codec = rawCodec{}

type report struct {
	Count       int            `json:"count"`
	OK          int            `json:"ok"`
	Errors      map[string]int `json:"errors"`
	Seconds     float64        `json:"seconds"`
	RPS         float64        `json:"rps"`
	P50ms       float64        `json:"p50ms"`
	P90ms       float64        `json:"p90ms"`
	P99ms       float64        `json:"p99ms"`
	P999ms      float64        `json:"p999ms"`
	MaxMs       float64        `json:"maxms"`
	Connections int            `json:"connections"`
	Concurrency int            `json:"concurrency"`
	TargetRPS   int            `json:"targetRps"`
}

func readBodies(file string) ([][]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for len(data) >= 4 {
		n := int(binary.BigEndian.Uint32(data))
		if len(data) < 4+n {
			return nil, fmt.Errorf("%s: truncated message", file)
		}
		out = append(out, data[4:4+n])
		data = data[4+n:]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no messages", file)
	}
	return out, nil
}

func main() {
	target := flag.String("target", "", "host:port")
	method := flag.String("method", "", "/package.Service/Method")
	bodiesFile := flag.String("bodies", "", "length-prefixed request messages")
	rps := flag.Int("rps", 0, "calls per second (0: as fast as possible)")
	duration := flag.Duration("duration", 10*time.Second, "how long to send")
	concurrency := flag.Int("concurrency", 50, "calls in flight at most")
	connections := flag.Int("connections", 2, "HTTP/2 connections")
	timeout := flag.Duration("timeout", 5*time.Second, "per-call deadline")
	flag.Parse()
	bodies, err := readBodies(*bodiesFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	conns := make([]*grpc.ClientConn, *connections)
	for i := range conns {
		conns[i], err = grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		conns[i].Connect()
	}

	// Open loop: a scheduler hands out start times; closed loop: workers call back to back.
	var schedule chan time.Time
	start := time.Now()
	deadline := start.Add(*duration)
	if *rps > 0 {
		schedule = make(chan time.Time, 1<<20)
		go func() {
			interval := time.Second / time.Duration(*rps)
			for i := 0; ; i++ {
				at := start.Add(time.Duration(i) * interval)
				if !at.Before(deadline) {
					close(schedule)
					return
				}
				if d := time.Until(at); d > 0 {
					time.Sleep(d)
				}
				schedule <- at
			}
		}()
	}

	var next atomic.Uint64
	type result struct {
		latencies []time.Duration
		ok        int
		errors    map[string]int
	}
	results := make([]result, *concurrency)
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := &results[w]
			r.errors = map[string]int{}
			conn := conns[w%len(conns)]
			var reply []byte
			for {
				var scheduled time.Time
				if schedule != nil {
					at, open := <-schedule
					if !open {
						return
					}
					scheduled = at
				} else {
					scheduled = time.Now()
					if !scheduled.Before(deadline) {
						return
					}
				}
				body := bodies[next.Add(1)%uint64(len(bodies))]
				ctx, cancel := context.WithTimeout(context.Background(), *timeout)
				err := conn.Invoke(ctx, *method, &body, &reply)
				cancel()
				r.latencies = append(r.latencies, time.Since(scheduled))
				if err == nil {
					r.ok++
				} else {
					r.errors[status.Code(err).String()]++
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)

	rep := report{Errors: map[string]int{}, Connections: *connections, Concurrency: *concurrency, TargetRPS: *rps}
	var all []time.Duration
	for _, r := range results {
		all = append(all, r.latencies...)
		rep.OK += r.ok
		for k, v := range r.errors {
			rep.Errors[k] += v
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	rep.Count = len(all)
	rep.Seconds = elapsed.Seconds()
	rep.RPS = float64(rep.Count) / elapsed.Seconds()
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(p * float64(len(all)))
		if i >= len(all) {
			i = len(all) - 1
		}
		return float64(all[i]) / 1e6
	}
	rep.P50ms, rep.P90ms, rep.P99ms, rep.P999ms, rep.MaxMs = q(0.5), q(0.9), q(0.99), q(0.999), q(1)
	out, _ := json.Marshal(rep)
	fmt.Println(string(out))
	for _, c := range conns {
		c.Close()
	}
}
