package storetoken

import (
	"encoding/base64"
	"encoding/json"

	"github.com/clusterkit/clusterkit/interfaces"
)

// Token is the content of a continue token.
type Token struct {
	// Revision is the revision every page of the list is read at; Latest for an inconsistent
	// continuation (the next page is read at the latest revision, and pages after it at that).
	Revision int64 `json:"rev"`
	// Prefix is the listed prefix; a token is only valid for it.
	Prefix string `json:"prefix"`
	// After is the last key of the previous page; the next page starts after it.
	After string `json:"after"`
}

// Latest is the Revision of an inconsistent continuation's token.
const Latest = -1

// Encode returns the opaque form of t.
func Encode(t Token) string {
	b, _ := json.Marshal(t) // a struct of strings and ints cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode parses a token made by Encode for prefix. A malformed token, or one
// made for another prefix, fails with a BadRequest error.
func Decode(s, prefix string) (Token, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Token{}, interfaces.NewBadRequest("invalid continue token: %v", err)
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		return Token{}, interfaces.NewBadRequest("invalid continue token: %v", err)
	}
	if (t.Revision <= 0 && t.Revision != Latest) || t.Prefix != prefix {
		return Token{}, interfaces.NewBadRequest("invalid continue token: not issued for prefix %q", prefix)
	}
	return t, nil
}
