// A Go net/http server for tests/interop/fetch_go.sh: ember's HTTP client
// (through ember-fetch) against the standard library's server, on loopback
// only. Built offline by the test (GO111MODULE=off, no modules).
//
//	go_server --port 0     prints "listening on 127.0.0.1:PORT"; SIGTERM ends it (exit 0)
//
// Routes:
//
//	/chunked         five chunks, flushed one by one (Transfer-Encoding: chunked)
//	/gzip            a gzip body with Content-Encoding: gzip, whatever was asked
//	/text            the plain text /gzip compresses
//	/redirect/NNN    NNN (301 302 303 307 308) to /method
//	/method          "METHOD body=BODY"
//	/cross           302 to http://localhost:PORT/auth (another origin)
//	/auth            "auth=<Authorization or none>", and records it for /seen
//	/seen            the Authorization values /auth received, one a line
//	/conn            the client's address (the same on a reused connection)
//	/conns           how many connections the server has accepted
//	/close           "closing", then the server closes the connection (Connection: close)
//	/upload          reads the body: "expect=<Expect> n=<bytes> sha256=<hex>"
//	/refuse          413 without reading the body
//	/trailers        a chunked body, then trailers X-Sum and X-Count
//	/cookie/set      Set-Cookie: sess=go123; Path=/
//	/cookie/get      "cookie=<Cookie or none>"
package main

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const text = "ember and Go, gzip over HTTP/1.1\n"

func main() {
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: any)")
	flag.Parse()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_, portStr, _ := net.SplitHostPort(ln.Addr().String())

	var conns int64
	var mu sync.Mutex
	var seen []string
	mux := http.NewServeMux()
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for i := 1; i <= 5; i++ {
			fmt.Fprintf(w, "chunk %d of 5\n", i)
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat(text, 1000))
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		z := gzip.NewWriter(w)
		io.WriteString(z, strings.Repeat(text, 1000))
		z.Close()
	})
	mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/redirect/"), "%d", &code)
		http.Redirect(w, r, "/method", code)
	})
	mux.HandleFunc("/method", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s body=%s\n", r.Method, b)
	})
	mux.HandleFunc("/cross", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+portStr+"/auth", http.StatusFound)
	})
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		if a == "" {
			a = "none"
		}
		mu.Lock()
		seen = append(seen, a)
		mu.Unlock()
		fmt.Fprintf(w, "auth=%s\n", a)
	})
	mux.HandleFunc("/seen", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		for _, a := range seen {
			fmt.Fprintln(w, a)
		}
	})
	mux.HandleFunc("/conn", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s\n", r.RemoteAddr)
	})
	mux.HandleFunc("/conns", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%d\n", atomic.LoadInt64(&conns))
	})
	mux.HandleFunc("/close", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "closing\n")
	})
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		e := r.Header.Get("Expect")
		if e == "" {
			e = "none"
		}
		fmt.Fprintf(w, "expect=%s n=%d sha256=%x\n", e, n, h.Sum(nil))
	})
	mux.HandleFunc("/refuse", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "too large", http.StatusRequestEntityTooLarge)
	})
	mux.HandleFunc("/trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum, X-Count")
		w.Header().Set("Content-Type", "text/plain")
		for i := 0; i < 3; i++ {
			fmt.Fprintf(w, "line %d\n", i)
			w.(http.Flusher).Flush()
		}
		w.Header().Set("X-Sum", "abc")
		w.Header().Set("X-Count", "3")
	})
	mux.HandleFunc("/cookie/set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sess", Value: "go123", Path: "/"})
		io.WriteString(w, "set\n")
	})
	mux.HandleFunc("/cookie/get", func(w http.ResponseWriter, r *http.Request) {
		c := r.Header.Get("Cookie")
		if c == "" {
			c = "none"
		}
		fmt.Fprintf(w, "cookie=%s\n", c)
	})

	srv := &http.Server{
		Handler:     mux,
		IdleTimeout: 30 * time.Second,
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				atomic.AddInt64(&conns, 1)
			}
		},
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	os.Stdout.Sync()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
