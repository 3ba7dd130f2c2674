package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"herd/remote/fuzzbrief"
)

func frameBytes(h Header, p []byte) []byte {
	b, err := AppendFrame(nil, h, p)
	if err != nil {
		panic(err)
	}
	return b
}

// Each fuzz target is a function returning its seeds and its body, so that
// the same body runs under `go test -fuzz` (coverage-guided, make fuzz) and
// in TestFuzzTargetsBriefly (seeds plus a bounded random walk, every
// `go test`).
type fuzzTarget = fuzzbrief.Target

var fuzzTargets = map[string]fuzzTarget{
	"Frame":        frameTarget,
	"ParseToken":   parseTokenTarget,
	"Payload":      payloadTarget,
	"ServeConn":    serveConnTarget,
	"NodePayload":  nodePayloadTarget,
	"StreamFrames": streamFramesTarget,
}

func fuzzWith(f *testing.F, target fuzzTarget) {
	seeds, body := target(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(body)
}

// FuzzFrame decodes arbitrary bytes as a frame stream. Whatever decodes must
// re-encode to the same bytes.
func FuzzFrame(f *testing.F) { fuzzWith(f, frameTarget) }

func frameTarget(testing.TB) ([][]byte, func(*testing.T, []byte)) {
	seeds := [][]byte{
		frameBytes(Header{Type: MsgPing, ID: 1}, nil),
		frameBytes(Header{Flags: FlagResponse | FlagError, Type: 100, ID: 1 << 60}, []byte("boom")),
		frameBytes(Header{Flags: FlagCancel, Type: 7, ID: 3}, nil),
		append(frameBytes(Header{Type: 16, ID: 2}, []byte(`{"a":1}`)), frameBytes(Header{Type: 2, ID: 3}, nil)...),
		{'h', 'F', 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff},
		{'h', 'F', 1, 0},
		[]byte("garbage"),
	}
	return seeds, func(t *testing.T, data []byte) {
		if len(data) >= HeaderSize {
			if h, err := DecodeHeader(data, 0); err == nil && h.Length > MaxPayload {
				t.Fatalf("accepted length %d", h.Length)
			}
		}
		r := bytes.NewReader(data)
		for {
			start := len(data) - r.Len()
			fr, err := ReadFrame(r, 1<<16)
			if err != nil {
				return
			}
			end := len(data) - r.Len()
			again, err := AppendFrame(nil, fr.Header, fr.Payload)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data[start:end]) {
				t.Fatalf("re-encoding differs:\n%x\n%x", again, data[start:end])
			}
		}
	}
}

// FuzzParseToken checks that ParseToken never panics and that what it
// accepts round-trips.
func FuzzParseToken(f *testing.F) { fuzzWith(f, parseTokenTarget) }

func parseTokenTarget(tb testing.TB) ([][]byte, func(*testing.T, []byte)) {
	ca, err := NewCA()
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := NewTokenStore().Create(ca.Fingerprint(), time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	seeds := [][]byte{
		[]byte(tok.String()),
		[]byte("herd1." + ca.Fingerprint() + ".0123456789abcdef.AAAA"),
		[]byte("herd1...."),
		[]byte("herd2.x.y.z"),
		{},
	}
	return seeds, func(t *testing.T, data []byte) {
		s := string(data)
		tok, err := ParseToken(s)
		if err != nil {
			return
		}
		again, err := ParseToken(tok.String())
		if err != nil || again.String() != tok.String() {
			t.Fatalf("round trip of %q: %v", s, err)
		}
		// Verification against an empty store must fail cleanly.
		if NewTokenStore().Verify(tok, tok.CAFingerprint) == nil {
			t.Fatal("empty store accepted a token")
		}
	}
}

// FuzzPayload decodes arbitrary bytes as the join messages (the payloads an
// unauthenticated client can send) and runs the join authority on them.
func FuzzPayload(f *testing.F) { fuzzWith(f, payloadTarget) }

func payloadTarget(tb testing.TB) ([][]byte, func(*testing.T, []byte)) {
	ca, err := NewCA()
	if err != nil {
		tb.Fatal(err)
	}
	auth := &Authority{CA: ca, Tokens: NewTokenStore(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tok, _ := auth.Tokens.Create(ca.Fingerprint(), time.Hour)
	good, _ := json.Marshal(&JoinRequest{Token: tok.String(), NodeID: "n1", Hosts: []string{"127.0.0.1"}, CSR: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})
	seeds := [][]byte{
		good,
		[]byte(`{"token":"herd1.x.y.z","hosts":[1,2]}`),
		[]byte(`{"certificate":"AAAA","ca":"bm90IGRlcg=="}`),
		[]byte(`[[[[[[[[[[`),
		{},
	}
	return seeds, func(t *testing.T, data []byte) {
		var req JoinRequest
		if DecodePayload(data, &req) == nil {
			auth.HandleJoin(context.Background(), &req)
		}
		var resp JoinResponse
		DecodePayload(data, &resp)
	}
}

// FuzzServeConn feeds arbitrary bytes to a Server as one connection's
// input: it must neither panic nor hang.
func FuzzServeConn(f *testing.F) { fuzzWith(f, serveConnTarget) }

func serveConnTarget(testing.TB) ([][]byte, func(*testing.T, []byte)) {
	seeds := [][]byte{
		frameBytes(Header{Type: MsgPing, ID: 1}, nil),
		append(frameBytes(Header{Type: 100, ID: 1}, []byte(`{"n":1}`)), frameBytes(Header{Flags: FlagCancel, Type: 100, ID: 1}, nil)...),
		append(frameBytes(Header{Type: 100, ID: 5}, nil), frameBytes(Header{Type: 100, ID: 5}, nil)...),
		[]byte("garbage"),
	}
	srv := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	Handle(srv, echoMsg, handleEcho)
	return seeds, func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			srv.ServeConn(server)
			close(done)
		}()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(time.Second))
		client.Write(data)
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("ServeConn did not return after the client closed")
		}
	}
}

// FuzzNodePayload decodes arbitrary bytes as payloads shaped like the node
// RPCs' answers (lists of records, numbers, arrays) and as error frames,
// which come from other nodes.
func FuzzNodePayload(f *testing.F) { fuzzWith(f, nodePayloadTarget) }

// payloadRow and payloadList have the shapes of nodemsg's answers; remote
// itself knows no payload type.
type payloadRow struct {
	PID  int    `json:"pid"`
	PPID int    `json:"ppid"`
	Node string `json:"node"`
	Stat string `json:"stat"`
	Cmd  string `json:"cmd"`
	CPU  int64  `json:"cpu_ns"`
}

type payloadList struct {
	Node  string       `json:"node"`
	Procs []payloadRow `json:"procs"`
	Load  [3]float64   `json:"load"`
}

func nodePayloadTarget(testing.TB) ([][]byte, func(*testing.T, []byte)) {
	good, _ := json.Marshal(&payloadList{Node: "n1", Procs: []payloadRow{{PID: 4097, PPID: 4096, Node: "n1", Stat: "Ss", Cmd: "sh"}}})
	st, _ := json.Marshal(&payloadList{Node: "n1", Load: [3]float64{1, 2, 3}})
	seeds := [][]byte{
		good, st,
		[]byte(`{"procs":[{"pid":-1,"cpu_ns":1e300}]}`),
		encodeError(fmt.Errorf("kill: %w", syscall.ESRCH)),
		[]byte(`{"msg":"x","errno":4294967295}`),
		[]byte("plain text error"),
	}
	return seeds, func(t *testing.T, data []byte) {
		var pr payloadList
		if DecodePayload(data, &pr) == nil {
			if _, err := encodePayload(&pr); err != nil {
				t.Fatalf("re-encode %+v: %v", pr, err)
			}
		}
		if e := decodeError("n1", MsgPing, data); e.Msg == "" && len(data) > 0 {
			t.Fatalf("error %q decoded to an empty message", data)
		}
	}
}

func TestFrameRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	p := bytes.Repeat([]byte{7}, 1000)
	if err := WriteFrame(&buf, Header{Flags: FlagResponse, Type: 300, ID: 42}, p); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != HeaderSize+len(p) {
		t.Fatalf("frame is %d bytes", buf.Len())
	}
	f, err := ReadFrame(&buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Flags != FlagResponse || f.Type != 300 || f.ID != 42 || f.Length != 1000 || !bytes.Equal(f.Payload, p) {
		t.Fatalf("frame %+v", f.Header)
	}
	if _, err := ReadFrame(bytes.NewReader(frameBytes(Header{ID: 1}, make([]byte, 100))[:50]), 0); err == nil {
		t.Fatal("truncated payload accepted")
	}
	if _, err := ReadFrame(bytes.NewReader(frameBytes(Header{ID: 1}, make([]byte, 100))), 99); err == nil {
		t.Fatal("payload over the limit accepted")
	}
	if _, err := AppendFrame(nil, Header{}, make([]byte, MaxPayload+1)); err == nil {
		t.Fatal("oversized payload encoded")
	}
}

// FuzzStreamFrames feeds arbitrary bytes to a Stream as what its peer
// sent: reading must end in EOF or an error, never panic or hang, and
// yield exactly the data frames' bytes that precede the first bad or
// ending frame.
func FuzzStreamFrames(f *testing.F) { fuzzWith(f, streamFramesTarget) }

func streamFramesTarget(testing.TB) ([][]byte, func(*testing.T, []byte)) {
	frames := func(fs ...[]byte) []byte { return bytes.Join(fs, nil) }
	seeds := [][]byte{
		frames(appendStreamFrame(nil, streamData, []byte("hello ")), appendStreamFrame(nil, streamData, nil),
			appendStreamFrame(nil, streamData, []byte("world")), appendStreamFrame(nil, streamEnd, nil)),
		frames(appendStreamFrame(nil, streamData, []byte("x")), appendStreamFrame(nil, streamAbort, encodeAbort(syscall.EPIPE))),
		appendStreamFrame(nil, streamAbort, []byte{1}),
		appendStreamFrame(nil, streamOpen, []byte("name")),
		{streamData, 0xff, 0xff, 0xff, 0xff},
		{streamData, 0, 0, 0, 9, 'a'},
	}
	return seeds, func(t *testing.T, data []byte) {
		// What a correct decoder yields: data payloads up to the first
		// frame that is not a whole data frame.
		var want []byte
		for rest := data; len(rest) >= streamHeader; {
			kind, n, err := decodeStreamHeader([streamHeader]byte(rest))
			if err != nil || kind != streamData {
				break
			}
			want = append(want, rest[streamHeader:min(len(rest), streamHeader+n)]...)
			if len(rest) < streamHeader+n {
				break
			}
			rest = rest[streamHeader+n:]
		}
		local, peer := net.Pipe()
		go func() {
			peer.SetWriteDeadline(time.Now().Add(5 * time.Second))
			peer.Write(data)
			peer.Close()
		}()
		go io.Copy(io.Discard, peer)
		s := newStream(local, "fuzz")
		local.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, err := io.ReadAll(s)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("stream read hung")
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read %q, want %q (err %v)", got, want, err)
		}
		s.Close()
	}
}
