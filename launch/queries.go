package launch

import (
	"context"
	"errors"
	"herd/procview"
	"time"
)

// Queries answers the cluster queries of herd nodes, herd ps and herd
// nodes remove: the node's cluster half. Its methods are called on
// connection goroutines, concurrently, and may block until ctx ends.
type Queries interface {
	// Nodes lists the members, and which could not be asked, as "id: why".
	Nodes(ctx context.Context) ([]NodeRow, []string)
	// Procs lists the processes of every node, or only of node.
	Procs(ctx context.Context, node string) ([]procview.Row, []string)
	// Remove takes node out of the cluster.
	Remove(ctx context.Context, node string) error
}

// queryTimeout bounds a whole query.
const queryTimeout = 6 * time.Second

// procsChunk is how many processes go in one message: a SEQPACKET
// message must fit the socket buffer.
const procsChunk = 256

// serveQuery answers one query.
func (s *Server) serveQuery(c *conn, m Msg) {
	ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
	defer cancel()
	switch m.Op {
	case OpNodes:
		rows, errs := s.Queries.Nodes(ctx)
		c.send(Msg{Op: OpNodes, Nodes: rows, Errors: errs})
	case OpPs:
		procs, errs := s.Queries.Procs(ctx, m.Node)
		for len(procs) > procsChunk {
			if c.send(Msg{Op: OpProcs, Procs: procs[:procsChunk], More: true}) != nil {
				return
			}
			procs = procs[procsChunk:]
		}
		c.send(Msg{Op: OpProcs, Procs: procs, Errors: errs})
	case OpRemove:
		if err := s.remove(ctx, c.fd, m.Node); err != nil {
			c.fail(err)
			return
		}
		c.send(Msg{Op: OpOK})
	}
}

// remove removes a node if the peer is root.
func (s *Server) remove(ctx context.Context, fd int, node string) error {
	creds, err := peerCreds(fd)
	if err != nil {
		return err
	}
	if creds.UID != 0 {
		return errors.New("removing a node needs root")
	}
	return s.Queries.Remove(ctx, node)
}
