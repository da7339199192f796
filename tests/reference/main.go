// Command clever-reference is the test oracle of clever-proxy: a model of
// Clever's LMS Connect v3.1 service built from the libraries Clever's wag
// generator uses (gorilla/mux, gorilla/handlers, go-openapi errors, strfmt,
// swag and validate, encoding/json), per shared/spec/clever-contract.md.
//
// Where the contract calls Clever's verdict uncertain, it answers 200 with
// X-Reference-Uncertain: <stage>, so that a proxy that rejects such a request
// locally is caught. Every answer carries X-Clever-Reference: 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gorilla/handlers"
)

// newHandler assembles the pipeline: marker, gateway (auth, route and method
// uncertainty), then wag's withMiddleware (handlers.CompressHandler around the
// mux router).
func newHandler(c *controller, opts gatewayOptions) http.Handler {
	return withMarker(withGateway(handlers.CompressHandler(newRouter(c)), opts))
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	skew := flag.Duration("skew", 300*time.Second, "clock-skew margin around now for due_date")
	malformedAuth := flag.String("malformed-auth", "uncertain",
		"a present but malformed Authorization header: uncertain or valid")
	schema := flag.String("schema", string(schemaContract),
		"schema stage: contract (uncertain where the contract says so), pointer or value (one model shape, certain)")
	flag.Parse()
	switch schemaMode(*schema) {
	case schemaContract, schemaPointer, schemaValue:
	default:
		fmt.Fprintln(os.Stderr, "-schema must be contract, pointer or value")
		os.Exit(2)
	}
	if *malformedAuth != "uncertain" && *malformedAuth != "valid" {
		fmt.Fprintln(os.Stderr, "-malformed-auth must be uncertain or valid")
		os.Exit(2)
	}

	initFormats()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c := &controller{skew: *skew, now: time.Now, schema: schemaMode(*schema)}
	srv := &http.Server{
		Handler:           newHandler(c, gatewayOptions{malformedAuthValid: *malformedAuth == "valid"}),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(os.Stderr, "clever-reference: ", log.LstdFlags),
	}

	// Catch SIGTERM before announcing the address, so that a caller may stop
	// the server as soon as it has read the line.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)

	done := make(chan error, 1)
	go func() { done <- srv.Serve(markingListener{ln}) }()
	fmt.Printf("listening on http://%s\n", ln.Addr().String())
	_ = os.Stdout.Sync()

	select {
	case <-sig:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	case err := <-done:
		if err != nil && err != http.ErrServerClosed {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
