package remote

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Frame layout (big endian), HeaderSize bytes followed by Length bytes of
// payload:
//
//	offset size field
//	0      2    magic "hF"
//	2      1    version (1)
//	3      1    flags (FlagResponse | FlagError | FlagCancel)
//	4      2    message type
//	6      8    request id (chosen by the caller, echoed in the response)
//	14     4    payload length (at most MaxPayload)
//
// Payloads of herd's control messages are JSON. Why not gob: gob decoders
// have had several denial-of-service bugs on hostile input (huge
// allocations from a few bytes, deep recursion) and the format carries type
// descriptions the receiver must trust. encoding/json allocates in
// proportion to its input, which the frame length already bounds, limits
// nesting depth, and ignores unknown fields, so a newer peer can add fields.
// Bulk data (process images, pipe bytes) will travel as raw frame payloads,
// not JSON.
const (
	HeaderSize   = 18
	FrameVersion = 1
	// MaxPayload is the largest payload any frame may carry.
	MaxPayload = 16 << 20
	// maxJoinPayload bounds frames on an unauthenticated join connection.
	maxJoinPayload = 64 << 10
)

var frameMagic = [2]byte{'h', 'F'}

// Flags of a frame.
const (
	// FlagResponse marks a response; its id is the request's.
	FlagResponse uint8 = 1 << iota
	// FlagError marks a failed response; the payload is the error text.
	FlagError
	// FlagCancel asks the server to cancel the request with this id; it has
	// no payload and gets no response.
	FlagCancel

	knownFlags = FlagResponse | FlagError | FlagCancel
)

// Header is the fixed part of a frame.
type Header struct {
	Flags  uint8
	Type   MsgType
	ID     uint64
	Length uint32
}

// Frame is a header and its payload.
type Frame struct {
	Header
	Payload []byte
}

// Frame decoding errors.
var (
	ErrBadMagic     = errors.New("frame: bad magic")
	ErrBadVersion   = errors.New("frame: unsupported version")
	ErrBadFlags     = errors.New("frame: unknown or contradictory flags")
	ErrFrameTooLong = errors.New("frame: payload too long")
)

// DecodeHeader parses the HeaderSize bytes at the start of b and checks them
// against maxPayload (MaxPayload if 0 or larger).
func DecodeHeader(b []byte, maxPayload uint32) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("frame: header is %d bytes, want %d: %w", len(b), HeaderSize, io.ErrUnexpectedEOF)
	}
	if b[0] != frameMagic[0] || b[1] != frameMagic[1] {
		return Header{}, fmt.Errorf("%w %q", ErrBadMagic, b[:2])
	}
	if b[2] != FrameVersion {
		return Header{}, fmt.Errorf("%w %d", ErrBadVersion, b[2])
	}
	h := Header{
		Flags:  b[3],
		Type:   MsgType(binary.BigEndian.Uint16(b[4:])),
		ID:     binary.BigEndian.Uint64(b[6:]),
		Length: binary.BigEndian.Uint32(b[14:]),
	}
	if h.Flags&^knownFlags != 0 ||
		h.Flags&FlagError != 0 && h.Flags&FlagResponse == 0 ||
		h.Flags&FlagCancel != 0 && (h.Flags&FlagResponse != 0 || h.Length != 0) {
		return Header{}, fmt.Errorf("%w %#x", ErrBadFlags, h.Flags)
	}
	if maxPayload == 0 || maxPayload > MaxPayload {
		maxPayload = MaxPayload
	}
	if h.Length > maxPayload {
		return Header{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLong, h.Length, maxPayload)
	}
	return h, nil
}

// AppendFrame appends the encoding of a frame with header h (whose Length is
// ignored) and payload p to dst.
func AppendFrame(dst []byte, h Header, p []byte) ([]byte, error) {
	if len(p) > MaxPayload {
		return dst, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLong, len(p), MaxPayload)
	}
	dst = append(dst, frameMagic[0], frameMagic[1], FrameVersion, h.Flags)
	dst = binary.BigEndian.AppendUint16(dst, uint16(h.Type))
	dst = binary.BigEndian.AppendUint64(dst, h.ID)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(p)))
	return append(dst, p...), nil
}

// WriteFrame writes one frame in a single Write call, so that frames written
// under a mutex never interleave.
func WriteFrame(w io.Writer, h Header, p []byte) error {
	buf, err := AppendFrame(make([]byte, 0, HeaderSize+len(p)), h, p)
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}

// ReadFrame reads one frame, refusing payloads longer than maxPayload
// (MaxPayload if 0). The payload is allocated only after the header has
// been validated, so a hostile length costs at most maxPayload bytes.
func ReadFrame(r io.Reader, maxPayload uint32) (Frame, error) {
	var hb [HeaderSize]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return Frame{}, err
	}
	h, err := DecodeHeader(hb[:], maxPayload)
	if err != nil {
		return Frame{}, err
	}
	p := make([]byte, h.Length)
	if _, err := io.ReadFull(r, p); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("frame: payload: %w", err)
	}
	return Frame{Header: h, Payload: p}, nil
}

// encodePayload encodes a control message. nil encodes as an empty payload.
func encodePayload(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	switch b := v.(type) {
	case []byte:
		return b, nil
	case *[]byte:
		return *b, nil
	}
	return json.Marshal(v)
}

// DecodePayload decodes a control message payload into v (a pointer). An
// empty payload leaves v unchanged. *[]byte receives the raw payload.
func DecodePayload(p []byte, v any) error {
	if v == nil {
		return nil
	}
	if b, ok := v.(*[]byte); ok {
		*b = append((*b)[:0], p...)
		return nil
	}
	if len(p) == 0 {
		return nil
	}
	if err := json.Unmarshal(p, v); err != nil {
		return fmt.Errorf("decode payload: %w", err)
	}
	return nil
}
