package raftstate

import (
	"sort"

	"github.com/hashicorp/raft"
)

// DefaultVoters is how many nodes vote unless Config.Voters says otherwise.
// Three tolerates one failure, five tolerates two; more voters only slow
// commits.
const DefaultVoters = 3

// RoleForJoin is the role a node joining a cluster with configuration
// servers gets: a voter while there are fewer than want voters, else a
// non-voter.
func RoleForJoin(servers []raft.Server, want int) Role {
	if countVoters(servers) < want {
		return RoleVoter
	}
	return RoleNonvoter
}

// PlanPromotions returns, in order, the non-voters to promote so that the
// configuration has want voters again (none if it has enough). Candidates
// are non-voters whose member record is up, oldest join first (ties by id);
// suspect, down and unknown nodes are never promoted, since a voter that
// cannot vote only makes quorum harder.
func PlanPromotions(servers []raft.Server, members map[string]Member, want int) []raft.Server {
	missing := want - countVoters(servers)
	if missing <= 0 {
		return nil
	}
	var cands []raft.Server
	for _, s := range servers {
		if s.Suffrage != raft.Nonvoter {
			continue
		}
		if m, ok := members[string(s.ID)]; ok && m.State == StateUp {
			cands = append(cands, s)
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := members[string(cands[i].ID)], members[string(cands[j].ID)]
		if a.JoinIndex != b.JoinIndex {
			return a.JoinIndex < b.JoinIndex
		}
		return a.ID < b.ID
	})
	if len(cands) > missing {
		cands = cands[:missing]
	}
	return cands
}

func countVoters(servers []raft.Server) int {
	n := 0
	for _, s := range servers {
		if s.Suffrage == raft.Voter {
			n++
		}
	}
	return n
}
