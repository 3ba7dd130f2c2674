package node

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"herd/launch"
	"herd/procview"
	"herd/raftstate"
	"herd/remote"
	"herd/remote/nodemsg"
)

// queryTimeout bounds asking one node for its processes or status.
const queryTimeout = 2 * time.Second

// fanOut calls f for every member (or only the one called node, if not
// "") in parallel, each with its own timeout, and returns the errors as
// "id: error", sorted.
func fanOut(ctx context.Context, members []raftstate.Member, node string, timeout time.Duration,
	f func(ctx context.Context, m raftstate.Member) error) []string {
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	for _, m := range members {
		if node != "" && m.ID != node {
			continue
		}
		wg.Go(func() {
			qctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if err := f(qctx, m); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Sprintf("%s: %v", m.ID, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(errs)
	return errs
}

// Procs implements launch.Queries: the process tables of the nodes (or
// of node), sorted by PID.
func (cn *Cluster) Procs(ctx context.Context, node string) ([]procview.Row, []string) {
	if node != "" {
		if _, ok := cn.store.FSM().Member(node); !ok {
			return nil, []string{fmt.Sprintf("%s: no such node", node)}
		}
	}
	return gatherProcs(ctx, cn.store.Members(), node, cn.procsOf)
}

// gatherProcs asks every member (or node) with procsOf and merges the
// answers, sorted by PID.
func gatherProcs(ctx context.Context, members []raftstate.Member, node string,
	procsOf func(context.Context, raftstate.Member) ([]procview.Row, error)) ([]procview.Row, []string) {
	var (
		mu  sync.Mutex
		all []procview.Row
	)
	errs := fanOut(ctx, members, node, queryTimeout, func(ctx context.Context, m raftstate.Member) error {
		ps, err := procsOf(ctx, m)
		if err != nil {
			return err
		}
		mu.Lock()
		all = append(all, ps...)
		mu.Unlock()
		return nil
	})
	slices.SortFunc(all, func(a, b procview.Row) int { return a.PID - b.PID })
	return all, errs
}

// procsOf is m's process table: this node's own, or asked over RPC.
func (cn *Cluster) procsOf(ctx context.Context, m raftstate.Member) ([]procview.Row, error) {
	if m.ID == cn.ID {
		return cn.procs(), nil
	}
	resp, err := remote.Call(ctx, cn.pool.Client(m.Address), nodemsg.Procs, nil)
	if err != nil {
		return nil, err
	}
	return resp.Procs, nil
}

// Nodes implements launch.Queries: the members with their live load,
// asked of each node that is not down, sorted by id.
func (cn *Cluster) Nodes(ctx context.Context) ([]launch.NodeRow, []string) {
	servers, _ := cn.store.Servers()
	_, leader := cn.store.Leader()
	r := roster{servers: servers, leader: leader, leases: cn.store.Leases()}
	return gatherRows(ctx, cn.store.Members(), r, cn.statusOf)
}

// gatherRows makes a row per member from r, with the load statusOf
// reports for the members that are not down, sorted by id.
func gatherRows(ctx context.Context, members []raftstate.Member, r roster,
	statusOf func(context.Context, raftstate.Member) (*nodemsg.NodeStatus, error)) ([]launch.NodeRow, []string) {
	var (
		mu   sync.Mutex
		rows []launch.NodeRow
	)
	errs := fanOut(ctx, members, "", queryTimeout, func(ctx context.Context, m raftstate.Member) error {
		row := r.row(m)
		var err error
		if m.State != raftstate.StateDown {
			var st *nodemsg.NodeStatus
			if st, err = statusOf(ctx, m); err == nil {
				row.Load, row.Procs = &st.Load, &st.Procs
			}
		}
		mu.Lock()
		rows = append(rows, row)
		mu.Unlock()
		return err
	})
	slices.SortFunc(rows, func(a, b launch.NodeRow) int { return strings.Compare(a.ID, b.ID) })
	return rows, errs
}

// statusOf is m's load: this node's own, or asked over RPC.
func (cn *Cluster) statusOf(ctx context.Context, m raftstate.Member) (*nodemsg.NodeStatus, error) {
	if m.ID == cn.ID {
		return cn.status(), nil
	}
	return remote.Call(ctx, cn.pool.Client(m.Address), nodemsg.Status, nil)
}

// roster is what the replica says of the members beyond their records:
// the Raft configuration, the leader and the PID leases.
type roster struct {
	servers []raft.Server
	leader  string
	leases  []raftstate.Lease
}

// row is m's line of herd nodes, without its load.
func (r roster) row(m raftstate.Member) launch.NodeRow {
	row := launch.NodeRow{ID: m.ID, Address: m.Address, State: string(m.State), CPUs: m.CPUs, CPUList: m.CPUList,
		MemoryBytes: m.MemoryBytes, StateSince: m.StateSince, Role: "non-voter", PIDBlocks: [][2]int{}}
	for _, l := range r.leases {
		if l.Node == m.ID {
			row.PIDBlocks = append(row.PIDBlocks, [2]int{l.Block.Start, l.Block.End()})
		}
	}
	for _, s := range r.servers {
		if string(s.ID) == m.ID && s.Suffrage == raft.Voter {
			row.Role = "voter"
		}
	}
	if m.ID == r.leader {
		row.Role = "leader"
	}
	return row
}

// Placement implements launch.Queries.
func (cn *Cluster) Placement(ctx context.Context) (string, error) {
	return cn.store.FSM().ClusterConfig().Placement, nil
}

// SetPlacement implements launch.Queries.
func (cn *Cluster) SetPlacement(ctx context.Context, policy string) error {
	if err := CheckPolicy(policy); err != nil || policy == "" {
		return fmt.Errorf("placement %q: want local, spread, least-loaded or node:ID", policy)
	}
	return cn.writer.SetPlacement(ctx, policy)
}

// Remove implements launch.Queries: node leaves the cluster.
func (cn *Cluster) Remove(ctx context.Context, node string) error {
	return cn.writer.Leave(ctx, node)
}
