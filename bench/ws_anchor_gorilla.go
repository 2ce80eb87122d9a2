// The gorilla/websocket anchor of bench/ws.sh: a WebSocket echo server on
// GET /ws (GOMAXPROCS=1 is set by the script). Each message is read whole
// into a buffer the connection reuses, checked to be UTF-8 when it is text
// (gorilla leaves that to the application; ember, lws and node ws do it),
// and written back with its type. -deflate sets EnableCompression (gorilla
// negotiates permessage-deflate with no context takeover).
//
//	go run ws_anchor_gorilla.go -port PORT [-deflate]
//
// Built offline from Debian's golang-github-gorilla-websocket-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build ws_anchor_gorilla.go
//
// Prints "listening on 127.0.0.1:PORT"; SIGTERM stops it.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	var buf bytes.Buffer
	for {
		mt, rd, err := c.NextReader()
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rd); err != nil {
			return
		}
		if mt == websocket.TextMessage && !utf8.Valid(buf.Bytes()) {
			msg := websocket.FormatCloseMessage(websocket.CloseInvalidFramePayloadData, "")
			c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
			return
		}
		if err := c.WriteMessage(mt, buf.Bytes()); err != nil {
			return
		}
	}
}

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1")
	deflate := flag.Bool("deflate", false, "accept permessage-deflate")
	flag.Parse()
	upgrader.EnableCompression = *deflate
	http.HandleFunc("/ws", echo)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	log.Fatal(http.Serve(ln, nil))
}
