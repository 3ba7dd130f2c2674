package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
)

// RemoteError is an error returned by the handler on the peer. If the
// handler's error carried an errno, so does the RemoteError: it unwraps to
// Errno, so errors.Is(err, unix.ESRCH) holds for a remote ESRCH.
type RemoteError struct {
	Peer  string
	Type  MsgType
	Msg   string
	Errno syscall.Errno // 0 if the handler's error had none
}

func (e *RemoteError) Error() string { return fmt.Sprintf("%v on %s: %s", e.Type, e.Peer, e.Msg) }

// Unwrap returns the errno, or nil.
func (e *RemoteError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// wireError is the payload of an error frame. Older peers sent the bare
// text, which decodeError still accepts.
type wireError struct {
	Msg   string `json:"msg"`
	Errno uint32 `json:"errno,omitempty"`
}

// encodeError encodes err for an error frame, with its errno if its chain
// holds one.
func encodeError(err error) []byte {
	we := wireError{Msg: err.Error()}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		we.Errno = uint32(errno)
	}
	b, jerr := json.Marshal(&we)
	if jerr != nil || len(b) > MaxPayload {
		return []byte(we.Msg[:min(len(we.Msg), MaxPayload)])
	}
	return b
}

// decodeError decodes an error frame's payload from peer.
func decodeError(peer string, t MsgType, p []byte) *RemoteError {
	var we wireError
	if len(p) > 0 && p[0] == '{' && json.Unmarshal(p, &we) == nil && we.Msg != "" {
		return &RemoteError{Peer: peer, Type: t, Msg: we.Msg, Errno: syscall.Errno(we.Errno)}
	}
	return &RemoteError{Peer: peer, Type: t, Msg: string(p)}
}
