package remote

import (
	"context"
	"fmt"
)

// Call sends req as a request of message m and returns the decoded
// response. req may be nil (an empty payload). It returns when the
// response arrives, ctx is done (the server is told to cancel), or the
// connection is lost. A handler's error arrives as a *RemoteError, which
// unwraps to its errno if it carried one: errors.Is(err, unix.ESRCH).
func Call[Req, Resp any](ctx context.Context, c *Client, m Msg[Req, Resp], req *Req) (*Resp, error) {
	var body any // nil encodes as an empty payload, a nil *Req would not
	if req != nil {
		body = req
	}
	resp := new(Resp)
	if err := c.call(ctx, m.t, body, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// HandlerFunc serves one message type with typed payloads. peer is the
// calling node's id. A returned error whose chain holds a syscall.Errno
// (unix.ESRCH, …) reaches the caller with that errno.
type HandlerFunc[Req, Resp any] func(ctx context.Context, peer string, req *Req) (*Resp, error)

// Handle registers h for message m on s, replacing any earlier handler.
// A request whose payload does not decode as Req fails without calling h.
func Handle[Req, Resp any](s *Server, m Msg[Req, Resp], h HandlerFunc[Req, Resp]) {
	s.handle(m.t, func(ctx context.Context, r *Request) (any, error) {
		req := new(Req)
		if err := r.Decode(req); err != nil {
			return nil, fmt.Errorf("%v: %w", m, err)
		}
		resp, err := h(ctx, r.Peer, req)
		if err != nil {
			return nil, err
		}
		if resp == nil {
			return nil, nil // an empty payload, not JSON null
		}
		return resp, nil
	})
}
