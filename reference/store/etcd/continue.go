package etcdstore

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/clusterkit/clusterkit/interfaces"
)

// continueToken is what a List continue token carries: the revision of the
// first page and the key the next page starts at (without the store prefix).
type continueToken struct {
	Version  int    `json:"v"`
	Revision int64  `json:"rev"`
	Start    string `json:"start"`
}

const continueVersion = 1

// latestRevision is the Revision of an inconsistent continuation's token: its page is read at
// the latest revision, and the pages after it at that one.
const latestRevision = -1

func encodeContinue(t continueToken) string {
	t.Version = continueVersion
	b, err := json.Marshal(t)
	if err != nil {
		// A struct of an int and a string always marshals.
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeContinue parses a token and checks it belongs to a List of prefix.
// Every failure is a BadRequest.
func decodeContinue(s, prefix string) (continueToken, error) {
	var t continueToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return t, interfaces.NewBadRequest("malformed continue token: %v", err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, interfaces.NewBadRequest("malformed continue token: %v", err)
	}
	switch {
	case t.Version != continueVersion:
		return t, interfaces.NewBadRequest("malformed continue token: unknown version %d", t.Version)
	case t.Revision <= 0 && t.Revision != latestRevision:
		return t, interfaces.NewBadRequest("malformed continue token: revision %d", t.Revision)
	case !strings.HasPrefix(t.Start, prefix):
		return t, interfaces.NewBadRequest("continue token does not belong to a list of prefix %q", prefix)
	}
	return t, nil
}
