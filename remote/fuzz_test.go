package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

func frameBytes(h Header, p []byte) []byte {
	b, err := AppendFrame(nil, h, p)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzFrame decodes arbitrary bytes as a frame stream. Whatever decodes must
// re-encode to the same bytes.
func FuzzFrame(f *testing.F) {
	f.Add(frameBytes(Header{Type: MsgPing, ID: 1}, nil))
	f.Add(frameBytes(Header{Flags: FlagResponse | FlagError, Type: 100, ID: 1 << 60}, []byte("boom")))
	f.Add(frameBytes(Header{Flags: FlagCancel, Type: 7, ID: 3}, nil))
	f.Add(append(frameBytes(Header{Type: 16, ID: 2}, []byte(`{"a":1}`)), frameBytes(Header{Type: 2, ID: 3}, nil)...))
	f.Add([]byte{'h', 'F', 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{'h', 'F', 1, 0})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
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
	})
}

// FuzzParseToken checks that ParseToken never panics and that what it
// accepts round-trips.
func FuzzParseToken(f *testing.F) {
	ca, err := NewCA()
	if err != nil {
		f.Fatal(err)
	}
	tok, err := NewTokenStore().Create(ca.Fingerprint(), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok.String())
	f.Add("herd1." + ca.Fingerprint() + ".0123456789abcdef.AAAA")
	f.Add("herd1....")
	f.Add("herd2.x.y.z")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
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
	})
}

// FuzzPayload decodes arbitrary bytes as the join messages (the payloads an
// unauthenticated client can send) and runs the join authority on them.
func FuzzPayload(f *testing.F) {
	ca, err := NewCA()
	if err != nil {
		f.Fatal(err)
	}
	auth := &Authority{CA: ca, Tokens: NewTokenStore(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tok, _ := auth.Tokens.Create(ca.Fingerprint(), time.Hour)
	good, _ := json.Marshal(&JoinRequest{Token: tok.String(), NodeID: "n1", Hosts: []string{"127.0.0.1"}, CSR: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})
	f.Add(good)
	f.Add([]byte(`{"token":"herd1.x.y.z","hosts":[1,2]}`))
	f.Add([]byte(`{"certificate":"AAAA","ca":"bm90IGRlcg=="}`))
	f.Add([]byte(`[[[[[[[[[[`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var req JoinRequest
		if DecodePayload(data, &req) == nil {
			auth.HandleJoin(context.Background(), &req)
		}
		var resp JoinResponse
		DecodePayload(data, &resp)
	})
}

// FuzzServeConn feeds arbitrary bytes to a Server as one connection's
// input: it must neither panic nor hang.
func FuzzServeConn(f *testing.F) {
	f.Add(frameBytes(Header{Type: MsgPing, ID: 1}, nil))
	f.Add(append(frameBytes(Header{Type: 100, ID: 1}, []byte(`{"n":1}`)), frameBytes(Header{Flags: FlagCancel, Type: 100, ID: 1}, nil)...))
	f.Add(append(frameBytes(Header{Type: 100, ID: 5}, nil), frameBytes(Header{Type: 100, ID: 5}, nil)...))
	f.Add([]byte("garbage"))
	srv := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv.Handle(msgEcho, handleEcho)
	f.Fuzz(func(t *testing.T, data []byte) {
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
	})
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
