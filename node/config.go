package node

import (
	"errors"
	"log/slog"
	"time"

	"herd/launch"
)

// Config is what a node daemon is told.
type Config struct {
	DataDir   string // node state: certificates, Raft log and snapshots
	Listen    string // cluster port HOST:PORT
	Advertise string // address other nodes dial, if not Listen's
	Bootstrap bool   // create a new cluster with this node as its first member
	Join      string // join the cluster of the node at HOST:PORT
	Token     string // join token, with Join
	Name      string // node id; "" for the host name
	CPUs      string // CPUs to offer, as a list like 0-3,6; "" for all
	Memory    string // memory to offer, like 8G; "" for all
	Socket    string // launcher socket path
	Voters    int    // how many nodes vote in Raft

	ElectionTimeout time.Duration // Raft heartbeat and election timeout
	SuspectAfter    time.Duration // silence before a node is suspect
	DownAfter       time.Duration // silence before a node is down

	Log *slog.Logger
}

// Defaults for the zero fields of a Config.
const (
	DefaultVoters          = 3
	DefaultElectionTimeout = time.Second
	DefaultSuspectAfter    = 3 * time.Second
	DefaultDownAfter       = 10 * time.Second
)

// Check reports a Config that cannot work, before anything is started.
func (c *Config) Check() error {
	switch {
	case c.DataDir == "":
		return errors.New("no data directory")
	case c.Listen == "":
		return errors.New("no cluster port to listen on")
	case c.Bootstrap && c.Join != "":
		return errors.New("--bootstrap and --join exclude each other")
	case c.Join != "" && c.Token == "":
		return errors.New("--join needs a join token (--token-file or $HERD_JOIN_TOKEN)")
	}
	return nil
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.Voters == 0 {
		c.Voters = DefaultVoters
	}
	if c.ElectionTimeout == 0 {
		c.ElectionTimeout = DefaultElectionTimeout
	}
	if c.SuspectAfter == 0 {
		c.SuspectAfter = DefaultSuspectAfter
	}
	if c.DownAfter == 0 {
		c.DownAfter = DefaultDownAfter
	}
	if c.Socket == "" {
		c.Socket = launch.DefaultSocket
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// advertised is the address other nodes dial.
func (c *Config) advertised() string {
	if c.Advertise != "" {
		return c.Advertise
	}
	return c.Listen
}
