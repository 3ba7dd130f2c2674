package launch

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// conn is one connection on the node side. Messages the tracer thread
// produces go through a queue, so the tracer never blocks on a slow or
// stopped client; messages posted after close are dropped, and nothing
// is written once the fd is closed (its number may have been reused by
// then).
type conn struct {
	fd   int
	out  chan Msg
	done chan struct{} // closed when the queue's writer has stopped

	wmu sync.Mutex // serialises writes to fd

	mu       sync.Mutex
	closing  bool // out is closed
	fdClosed bool
}

func newConn(fd int) *conn {
	c := &conn{fd: fd, out: make(chan Msg, 16), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for m := range c.out {
			c.wmu.Lock()
			Send(c.fd, m)
			c.wmu.Unlock()
		}
	}()
	return c
}

// post queues m without blocking; safe on the tracer thread.
func (c *conn) post(m Msg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return
	}
	select {
	case c.out <- m:
	default: // a client that does not read loses messages, not the node
	}
}

// send writes m now, blocking; not for the tracer thread.
func (c *conn) send(m Msg) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	closed := c.fdClosed
	c.mu.Unlock()
	if closed {
		return fmt.Errorf("send %s message: connection closed", m.Op)
	}
	return Send(c.fd, m)
}

// fail sends an error answer.
func (c *conn) fail(err error) { c.send(Msg{Op: OpError, Error: err.Error()}) }

// close flushes the queued messages and closes the connection.
func (c *conn) close() {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	close(c.out)
	c.mu.Unlock()
	<-c.done
	c.wmu.Lock()
	c.mu.Lock()
	c.fdClosed = true
	unix.Close(c.fd)
	c.mu.Unlock()
	c.wmu.Unlock()
}
