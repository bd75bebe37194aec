package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/session"
	"github.com/redis/go-redis/v9"
)

// wrap translates an error of go-redis for callers of the session package and
// names the operation:
//
//   - redis.Nil (no such key) wraps session.ErrNotFound;
//   - once ctx has ended, the error wraps ctx.Err() and not
//     session.ErrUnavailable: the caller gave up, Redis did not fail;
//   - an error that says Redis cannot be reached or cannot serve now wraps
//     session.ErrUnavailable (see unavailable);
//   - any other error (WRONGTYPE, a script error: a bug) is only wrapped.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.Nil):
		return fmt.Errorf("redisstore: %s: %w", op, session.ErrNotFound)
	case ctx.Err() != nil:
		if cerr := ctx.Err(); !errors.Is(err, cerr) {
			err = errors.Join(cerr, err)
		}
		return fmt.Errorf("redisstore: %s: %w", op, err)
	case unavailable(err):
		return fmt.Errorf("redisstore: %s: %w", op, errors.Join(session.ErrUnavailable, err))
	default:
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
}

// unavailable reports whether err means that Redis cannot serve the command
// now, though it may later: every error that is not a reply of the server
// (refused or reset connections, timeouts, TLS, an exhausted pool, Sentinels
// that do not answer, a closed client), and the replies of a server that is
// starting, failing over, out of resources or refusing our credentials.
func unavailable(err error) bool {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return true
	}
	return redis.IsLoadingError(err) || // LOADING: loading its dataset
		redis.IsReadOnlyError(err) || // READONLY: a replica, mid-failover
		redis.IsMasterDownError(err) || // MASTERDOWN: replica lost its master
		redis.IsClusterDownError(err) || // CLUSTERDOWN: slots not served
		redis.IsTryAgainError(err) || // TRYAGAIN: slot migrating
		redis.IsMaxClientsError(err) ||
		redis.IsOOMError(err) ||
		redis.IsNoReplicasError(err) ||
		redis.IsAuthError(err) || // NOAUTH, WRONGPASS: misconfiguration
		redis.IsPermissionError(err) || // NOPERM: misconfiguration
		redis.HasErrorPrefix(err, "BUSY ") // a script runs too long
}
