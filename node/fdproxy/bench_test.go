package fdproxy

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkPipeAcrossNodes measures a pipe carried across two nodes (two
// TLS listeners in this process, on loopback) against raw TCP on loopback
// in the same run:
//
//	go test -run '^$' -bench PipeAcrossNodes ./node/fdproxy
//
// out: the process on B writes 64 KiB writes into its pipe, read from the
// real pipe on A (packet mode: whole packets of up to PIPE_BUF written on
// A). in: A writes into the real pipe, the process on B reads (credit of
// Window). pingpong: one byte A → B → A through two pipes, against a
// one-byte TCP round trip. The ratios are printed at the end.
func BenchmarkPipeAcrossNodes(b *testing.B) {
	var tcp, out, plain, in, tcpRTT, rtt time.Duration
	b.Run("tcp", func(b *testing.B) {
		c, s := tcpPair(b)
		tcp = copyBench(b, c, s)
	})
	b.Run("out", func(b *testing.B) {
		p := newBenchPipes(b)
		out = copyBench(b, p.bOut, p.outR)
	})
	b.Run("out-plain", func(b *testing.B) {
		plainPipes = true
		defer func() { plainPipes = false }()
		p := newBenchPipes(b)
		plain = copyBench(b, p.bOut, p.outR)
	})
	b.Run("in", func(b *testing.B) {
		p := newBenchPipes(b)
		in = copyBench(b, p.inW, p.bIn)
	})
	b.Run("tcp-pingpong", func(b *testing.B) {
		c, s := tcpPair(b)
		tcpRTT = pingPong(b, c, c, s, s)
	})
	b.Run("pingpong", func(b *testing.B) {
		p := newBenchPipes(b)
		rtt = pingPong(b, p.inW, p.outR, p.bIn, p.bOut)
	})
	if tcp > 0 && out > 0 && in > 0 {
		fmt.Printf("PipeAcrossNodes: throughput of TCP's: out %.0f%%, in %.0f%%\n", 100*float64(tcp)/float64(out), 100*float64(tcp)/float64(in))
	}
	if plain > 0 && out > 0 {
		fmt.Printf("PipeAcrossNodes: packet mode's throughput is %.0f%% of plain's\n", 100*float64(plain)/float64(out))
	}
	if tcpRTT > 0 && rtt > 0 {
		fmt.Printf("PipeAcrossNodes: round trip %v, %.1f× TCP's %v\n", rtt, float64(rtt)/float64(tcpRTT), tcpRTT)
	}
}

const benchChunk = 64 << 10

// copyBench moves b.N chunks from w to r, the reading timed here, the
// writing in a goroutine; it returns the time per chunk.
func copyBench(b *testing.B, w io.Writer, r io.Reader) time.Duration {
	werr := make(chan error, 1)
	b.SetBytes(benchChunk)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	go func() {
		chunk := make([]byte, benchChunk)
		for i := 0; i < b.N; i++ {
			if _, err := w.Write(chunk); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	if n, err := io.Copy(io.Discard, io.LimitReader(r, int64(b.N)*benchChunk)); err != nil || n != int64(b.N)*benchChunk {
		b.Fatalf("read %d bytes: %v", n, err)
	}
	if err := <-werr; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	// The machine is shared: CPU time per byte (both nodes, the pipes'
	// ends and TLS, all in this process) is steadier than the rate.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N)/benchChunk*1e3, "cpu-ns/KB")
	return b.Elapsed() / time.Duration(b.N)
}

// cpuTime is the user and system time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pingPong sends one byte w → r, echoed back ew → er, b.N times.
func pingPong(b *testing.B, w io.Writer, r io.Reader, er io.Reader, ew io.Writer) time.Duration {
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := er.Read(buf); err != nil {
				return
			}
			if _, err := ew.Write(buf); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := w.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	return b.Elapsed() / time.Duration(b.N)
}

type benchPipes struct {
	inW, outR, bIn, bOut *os.File
}

func newBenchPipes(b *testing.B) *benchPipes {
	nodes := newTwoNodes(b)
	nodes.direct = true
	inR, inW := pipe(b)
	outR, outW := pipe(b)
	_, tg := nodes.proxy(b, fdOf(inR), fdOf(outW))
	p := &benchPipes{inW: inW, outR: outR, bIn: end(b, tg, fdOf(inR)), bOut: end(b, tg, fdOf(outW))}
	tg.CloseEnds()
	inR.Close()
	outW.Close()
	b.Cleanup(func() { p.bIn.Close(); p.bOut.Close() })
	return p
}

// tcpPair is a TCP connection on loopback, both ends.
func tcpPair(b *testing.B) (*net.TCPConn, *net.TCPConn) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	type accepted struct {
		c   *net.TCPConn
		err error
	}
	ch := make(chan accepted, 1)
	go func() { c, err := ln.AcceptTCP(); ch <- accepted{c, err} }()
	dialed, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	a := <-ch
	ln.Close()
	if err != nil || a.err != nil {
		b.Fatal(err, a.err)
	}
	b.Cleanup(func() { dialed.Close(); a.c.Close() })
	return dialed, a.c
}
