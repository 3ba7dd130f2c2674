package node

// Layout of a node's data directory.
const (
	CADir      = "ca"          // the cluster CA (bootstrap node only)
	TLSDir     = "tls"         // this node's certificate and key
	RaftDir    = "raft"        // Raft log, stable store and snapshots
	TokensFile = "tokens.json" // join tokens (CA holders only)
	// TokenFile holds a join token made at this start (CA holders only),
	// mode 0600, for scripts such as herd cluster up (--token-file).
	TokenFile = "join-token"
)
