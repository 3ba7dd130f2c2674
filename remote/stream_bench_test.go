package remote

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The stream service uses one TLS connection per stream. These benchmarks
// compare one stream's throughput on loopback with raw TCP and raw TLS on
// the same link (the design asks a stream for at least half of raw TCP):
//
//	go test -run '^$' -bench 'Throughput' ./remote

const benchChunk = 64 << 10

// benchCopy measures writes of benchChunk bytes from w, read by r.
func benchCopy(b *testing.B, w io.Writer, r io.Reader) {
	done := make(chan error, 1)
	go func() {
		_, err := io.CopyN(io.Discard, r, int64(b.N)*benchChunk)
		done <- err
	}()
	buf := make([]byte, benchChunk)
	b.SetBytes(benchChunk)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	// The machine may be shared: CPU time per byte (both ends, in this
	// process) is steadier than the rate.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/benchChunk*1e3, "cpu-ns/KB")
}

// cpuTime is the user and system time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func tcpPair(b *testing.B) (net.Conn, net.Conn) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() { c, _ := l.Accept(); accepted <- c }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	s := <-accepted
	b.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

func BenchmarkThroughputTCP(b *testing.B) {
	c, s := tcpPair(b)
	benchCopy(b, c, s)
}

func BenchmarkThroughputTLS(b *testing.B) {
	ca := newTestCA(b)
	server, client := issue(b, ca, "node-a"), issue(b, ca, "node-b")
	c, s := tcpPair(b)
	tc, ts := tls.Client(c, client.ClientTLS("127.0.0.1:0")), tls.Server(s, server.ServerTLS())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go ts.HandshakeContext(ctx)
	if err := tc.HandshakeContext(ctx); err != nil {
		b.Fatal(err)
	}
	benchCopy(b, tc, ts)
}

func BenchmarkThroughputStream(b *testing.B) {
	o, a := streamPair(b, "bench")
	benchCopy(b, o, a)
}

// BenchmarkStreamOpen measures opening (and closing) one stream: the
// price of a TLS connection per stream, which a multiplexer would avoid.
func BenchmarkStreamOpen(b *testing.B) {
	ca := newTestCA(b)
	a := startNode(b, ca, "node-a")
	creds := issue(b, ca, "node-b")
	go func() {
		for {
			s, err := a.l.AcceptStream()
			if err != nil {
				return
			}
			s.Close()
		}
	}()
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		s, err := OpenStream(ctx, a.addr, creds, "open")
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
