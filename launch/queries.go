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
	// Placement is the cluster's default placement policy;
	// SetPlacement changes it.
	Placement(ctx context.Context) (string, error)
	SetPlacement(ctx context.Context, policy string) error
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
	case OpPlacement:
		policy, err := s.placement(ctx, c.fd, m.Placement)
		if err != nil {
			c.fail(err)
			return
		}
		c.send(Msg{Op: OpOK, Placement: policy})
	}
}

// placement answers the cluster's placement policy, after setting it to
// policy if one is given and the peer is root.
func (s *Server) placement(ctx context.Context, fd int, policy string) (string, error) {
	if policy != "" {
		creds, err := peerCreds(fd)
		if err != nil {
			return "", err
		}
		if creds.UID != 0 {
			return "", errors.New("changing the placement needs root")
		}
		if err := s.Queries.SetPlacement(ctx, policy); err != nil {
			return "", err
		}
	}
	return s.Queries.Placement(ctx)
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
