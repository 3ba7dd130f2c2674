package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"herd/remote"
)

// identity gives the node its credentials: the ones in the data dir, or a
// new cluster's CA and certificate (Bootstrap), or a certificate obtained
// with a join token (Join).
func identity(ctx context.Context, cfg *Config, hosts []string) (*remote.Credentials, error) {
	dir := cfg.DataDir
	creds, err := remote.LoadCredentials(filepath.Join(dir, TLSDir))
	switch {
	case err == nil:
		if cfg.Name != "" && cfg.Name != creds.NodeID {
			return nil, fmt.Errorf("data dir %s belongs to node %q, not %q", dir, creds.NodeID, cfg.Name)
		}
		return creds, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	case cfg.Bootstrap:
		return newClusterIdentity(dir, nameOr(cfg), hosts)
	case cfg.Join != "":
		creds, err = remote.Join(ctx, cfg.Join, cfg.Token, nameOr(cfg), hosts)
		if err != nil {
			return nil, err
		}
		return creds, creds.Save(filepath.Join(dir, TLSDir))
	}
	return nil, &UsageError{fmt.Sprintf("%s holds no node identity: give --bootstrap or --join", dir)}
}

// UsageError is a Config that cannot start a node.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func nameOr(cfg *Config) string {
	if cfg.Name != "" {
		return cfg.Name
	}
	return defaultName()
}

// newClusterIdentity makes the cluster CA and this node's certificate.
func newClusterIdentity(dir, id string, hosts []string) (*remote.Credentials, error) {
	if err := remote.ValidateNodeID(id); err != nil {
		return nil, err
	}
	ca, err := remote.NewCA()
	if err != nil {
		return nil, err
	}
	if err := ca.Save(filepath.Join(dir, CADir)); err != nil {
		return nil, err
	}
	creds, err := ca.Issue(id, hosts)
	if err != nil {
		return nil, err
	}
	return creds, creds.Save(filepath.Join(dir, TLSDir))
}

// authority is the join authority of a node that holds the cluster CA,
// or nil. It makes a join token for this start, writes it to TokenFile
// and prints it with the command that joins another node.
func authority(cfg *Config, log *slog.Logger) (*remote.Authority, error) {
	ca, err := remote.LoadCA(filepath.Join(cfg.DataDir, CADir))
	if err != nil {
		return nil, nil
	}
	tokens, err := remote.OpenTokenStore(filepath.Join(cfg.DataDir, TokensFile))
	if err != nil {
		return nil, err
	}
	tok, err := tokens.Create(ca.Fingerprint(), 0)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.DataDir, TokenFile)
	if err := os.WriteFile(path, []byte(tok.String()+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write join token: %w", err)
	}
	// In the environment, not on the command line, where every user of
	// the host would read it (ps).
	fmt.Printf("herd node: join other nodes with (the token is also in %s):\n"+
		"  HERD_JOIN_TOKEN=%s herd node --data-dir DIR --listen HOST:PORT --join %s\n", path, tok, cfg.advertised())
	return &remote.Authority{CA: ca, Tokens: tokens, Logger: log}, nil
}
