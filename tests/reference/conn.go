package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
)

// markingListener wraps accepted connections so that the answers net/http
// writes on its own, before or instead of any handler (a bad percent-escape or
// malformed request line: "400 Bad Request" written straight to the conn in
// server.go conn.serve; 431; "OPTIONS *"; 417), are replaced by an
// uncertain(route) answer carrying the reference's marker headers. Such
// requests never reach Clever's service unchanged, so their verdict is open.
type markingListener struct{ net.Listener }

// Accept wraps each connection net/http's Server.Serve accepts.
func (l markingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &markingConn{Conn: c}, nil
}

// markingConn inspects what net/http writes to the wire.
type markingConn struct{ net.Conn }

var markerLine = []byte("\r\nX-Clever-Reference: 1\r\n")

// foreignStatus returns the status line of a response head that did not come
// through withMarker. Handler bodies are JSON, gzip or mux's plain text, and
// never hold a raw CRLF, so a write that starts like a response head is one.
func foreignStatus(p []byte) (string, bool) {
	if !bytes.HasPrefix(p, []byte("HTTP/1.")) {
		return "", false
	}
	end := bytes.Index(p, []byte("\r\n\r\n"))
	if end < 0 {
		return "", false
	}
	head := p[:end+2]
	line := head[:bytes.Index(head, []byte("\r\n"))]
	if len(line) > 9 && line[9] == '1' { // 1xx interim (100 Continue)
		return "", false
	}
	if bytes.Contains(head, markerLine) {
		return "", false
	}
	return string(line[9:]), true
}

// Write replaces a foreign response head (and whatever net/http wrote with
// it) by the uncertain answer; net/http closes or resyncs the connection after
// such answers, and Connection: close tells the client not to reuse it.
func (c *markingConn) Write(p []byte) (int, error) {
	status, ok := foreignStatus(p)
	if !ok {
		return c.Conn.Write(p)
	}
	body, _ := json.Marshal(uncertainBody{
		Uncertain: "route",
		Reason:    "net/http answered before any handler: " + status,
	})
	msg := fmt.Sprintf("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n"+
		"Content-Type: application/json\r\nX-Clever-Reference: 1\r\nX-Reference-Uncertain: route\r\n\r\n%s",
		len(body), body)
	if _, err := c.Conn.Write([]byte(msg)); err != nil {
		return 0, err
	}
	return len(p), nil
}
