package remote

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// StreamLayer carries Raft over the cluster port: Accept yields the 'R'
// connections of its Listener, Dial opens mutual-TLS connections with the
// 'R' service byte. It implements raft.StreamLayer.
type StreamLayer struct {
	l         *Listener
	conns     chan net.Conn
	closeOnce sync.Once
	closed    chan struct{}
}

var _ raft.StreamLayer = (*StreamLayer)(nil)

// Accept returns the next Raft connection.
func (s *StreamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.closed:
		return nil, fmt.Errorf("accept raft: %w", net.ErrClosed)
	case <-s.l.closed:
		return nil, fmt.Errorf("accept raft: %w", net.ErrClosed)
	}
}

// Close stops handing out Raft connections. It does not close the port,
// which still serves the other services: raft's NetworkTransport closes its
// stream layer on shutdown, and the node's RPCs must outlive that.
func (s *StreamLayer) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

// Addr is the cluster port's address, which is also this node's Raft address.
func (s *StreamLayer) Addr() net.Addr { return s.l.Addr() }

// Dial opens a Raft connection to the node at address.
func (s *StreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := Dial(ctx, string(address), s.l.creds, ServiceRaft)
	if err != nil {
		return nil, fmt.Errorf("raft: %w", err)
	}
	return c, nil
}
