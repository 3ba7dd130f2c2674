package remote

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// A join token lets a new node obtain a certificate. Its text form is
//
//		herd1.<ca-fingerprint>.<id>.<secret>
//
//	  - "herd1" names the format version;
//	  - ca-fingerprint is the full 64-character lowercase hex SHA-256 of the
//	    CA's SubjectPublicKeyInfo (see Fingerprint). The joiner accepts the
//	    cluster port's certificate only if it chains to a CA with exactly this
//	    pin, so it needs no CA file beforehand and cannot be fooled by a
//	    man in the middle. The full hash, not a prefix, because a prefix short
//	    enough to type would allow a second-preimage search;
//	  - id is 16 lowercase hex characters (8 random bytes), the token's public
//	    name: the CA side looks tokens up by it and it may appear in logs;
//	  - secret is 32 random bytes in unpadded base64url (43 characters). The CA
//	    side stores only its SHA-256 and an expiry, and compares in constant
//	    time.
//
// Tokens are reusable until they expire or are revoked (like kubeadm's), so
// one token can admit a batch of nodes.
const (
	tokenPrefix     = "herd1"
	tokenIDBytes    = 8
	tokenSecretSize = 32
	fingerprintLen  = 64
	// DefaultTokenTTL is how long a join token is valid unless told otherwise.
	DefaultTokenTTL = 24 * time.Hour
	// maxTokenLen bounds the input ParseToken looks at.
	maxTokenLen = 256
)

// Token errors. Unknown ids and wrong secrets give the same error, so the
// response does not tell a guesser which half was wrong.
var (
	ErrTokenMalformed = errors.New("join token malformed")
	ErrTokenInvalid   = errors.New("join token unknown or invalid")
	ErrTokenExpired   = errors.New("join token expired")
	ErrTokenWrongCA   = errors.New("join token is for a different cluster CA")
)

// Token is a parsed join token.
type Token struct {
	CAFingerprint string // 64 lowercase hex
	ID            string // 16 lowercase hex
	Secret        []byte // 32 bytes
}

// String renders the token in its text form.
func (t Token) String() string {
	return strings.Join([]string{tokenPrefix, t.CAFingerprint, t.ID,
		base64.RawURLEncoding.EncodeToString(t.Secret)}, ".")
}

// ParseToken parses the text form of a join token. It checks syntax only;
// TokenStore.Verify checks the secret and expiry.
func ParseToken(s string) (Token, error) {
	if len(s) > maxTokenLen {
		return Token{}, fmt.Errorf("%w: longer than %d bytes", ErrTokenMalformed, maxTokenLen)
	}
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 4 {
		return Token{}, fmt.Errorf("%w: want herd1.<ca-fingerprint>.<id>.<secret>", ErrTokenMalformed)
	}
	if parts[0] != tokenPrefix {
		return Token{}, fmt.Errorf("%w: unknown version %q", ErrTokenMalformed, parts[0])
	}
	if !isLowerHex(parts[1], fingerprintLen) {
		return Token{}, fmt.Errorf("%w: CA fingerprint is not %d lowercase hex characters", ErrTokenMalformed, fingerprintLen)
	}
	if !isLowerHex(parts[2], 2*tokenIDBytes) {
		return Token{}, fmt.Errorf("%w: id is not %d lowercase hex characters", ErrTokenMalformed, 2*tokenIDBytes)
	}
	secret, err := base64.RawURLEncoding.Strict().DecodeString(parts[3])
	if err != nil || len(secret) != tokenSecretSize {
		return Token{}, fmt.Errorf("%w: secret is not %d bytes of unpadded base64url", ErrTokenMalformed, tokenSecretSize)
	}
	return Token{CAFingerprint: parts[1], ID: parts[2], Secret: secret}, nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// tokenRecord is what the CA side keeps of a token: never the secret.
type tokenRecord struct {
	SecretSHA256 string    `json:"secret_sha256"` // hex
	Expires      time.Time `json:"expires"`
}

// TokenStore holds the join tokens a CA accepts, keyed by id. It is safe for
// concurrent use. With a path it persists itself (0600 JSON) after every
// change, so tokens survive a restart of the bootstrap node.
type TokenStore struct {
	path string
	now  func() time.Time

	mu     sync.Mutex
	tokens map[string]tokenRecord
}

// NewTokenStore returns an in-memory token store.
func NewTokenStore() *TokenStore {
	return &TokenStore{now: time.Now, tokens: map[string]tokenRecord{}}
}

// OpenTokenStore loads the token store persisted at path, or starts an empty
// one there if the file does not exist.
func OpenTokenStore(path string) (*TokenStore, error) {
	s := NewTokenStore()
	s.path = path
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open token store: %w", err)
	}
	if err := json.Unmarshal(data, &s.tokens); err != nil {
		return nil, fmt.Errorf("open token store %s: %w", path, err)
	}
	if s.tokens == nil {
		s.tokens = map[string]tokenRecord{}
	}
	return s, nil
}

// Create makes a new token for the CA with fingerprint caFingerprint, valid
// for ttl (DefaultTokenTTL if ttl <= 0).
func (s *TokenStore) Create(caFingerprint string, ttl time.Duration) (Token, error) {
	if !isLowerHex(caFingerprint, fingerprintLen) {
		return Token{}, fmt.Errorf("create join token: bad CA fingerprint %q", caFingerprint)
	}
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	id := make([]byte, tokenIDBytes)
	secret := make([]byte, tokenSecretSize)
	if _, err := rand.Read(id); err != nil {
		return Token{}, fmt.Errorf("create join token: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return Token{}, fmt.Errorf("create join token: %w", err)
	}
	t := Token{CAFingerprint: caFingerprint, ID: hex.EncodeToString(id), Secret: secret}
	sum := sha256.Sum256(secret)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[t.ID] = tokenRecord{SecretSHA256: hex.EncodeToString(sum[:]), Expires: s.now().Add(ttl)}
	s.pruneLocked()
	if err := s.saveLocked(); err != nil {
		delete(s.tokens, t.ID)
		return Token{}, fmt.Errorf("create join token: %w", err)
	}
	return t, nil
}

// Verify checks t against the store for the CA with fingerprint
// caFingerprint. It returns nil, or an error wrapping ErrTokenWrongCA,
// ErrTokenInvalid or ErrTokenExpired.
func (s *TokenStore) Verify(t Token, caFingerprint string) error {
	if subtle.ConstantTimeCompare([]byte(t.CAFingerprint), []byte(caFingerprint)) != 1 {
		return fmt.Errorf("verify join token %s: %w", t.ID, ErrTokenWrongCA)
	}
	sum := sha256.Sum256(t.Secret)
	s.mu.Lock()
	rec, ok := s.tokens[t.ID]
	now := s.now()
	s.mu.Unlock()
	want, err := hex.DecodeString(rec.SecretSHA256)
	if !ok || err != nil || len(want) != len(sum) {
		// Compare anyway so unknown ids cost the same as wrong secrets.
		want = make([]byte, len(sum))
		subtle.ConstantTimeCompare(sum[:], want)
		return fmt.Errorf("verify join token %s: %w", t.ID, ErrTokenInvalid)
	}
	if subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return fmt.Errorf("verify join token %s: %w", t.ID, ErrTokenInvalid)
	}
	if !now.Before(rec.Expires) {
		return fmt.Errorf("verify join token %s: %w (at %s)", t.ID, ErrTokenExpired, rec.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// Revoke forgets the token with the given id.
func (s *TokenStore) Revoke(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.tokens[id]
	if !ok {
		return nil
	}
	delete(s.tokens, id)
	if err := s.saveLocked(); err != nil {
		s.tokens[id] = rec
		return fmt.Errorf("revoke join token %s: %w", id, err)
	}
	return nil
}

// pruneLocked drops tokens that expired more than a day ago; recently
// expired ones are kept so Verify can still say "expired" rather than
// "unknown".
func (s *TokenStore) pruneLocked() {
	cutoff := s.now().Add(-24 * time.Hour)
	for id, rec := range s.tokens {
		if rec.Expires.Before(cutoff) {
			delete(s.tokens, id)
		}
	}
}

func (s *TokenStore) saveLocked() error {
	if s.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(s.tokens, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, data, 0o600)
}
