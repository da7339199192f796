package main

import "strings"

// isCanonicalUUID: lower-case 8-4-4-4-12 hex, the form Clever issues.
func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// uuidAccepted reports whether github.com/google/uuid's Parse (v1.3.0) would
// accept s: 36-char dashed form (either case), 45 chars with a
// case-insensitive "urn:uuid:" prefix, 38 chars whose first and last byte are
// skipped unchecked (meant for {...}), or 32 hex digits.
func uuidAccepted(s string) bool {
	switch len(s) {
	case 36:
	case 36 + 9:
		if strings.ToLower(s[:9]) != "urn:uuid:" {
			return false
		}
		s = s[9:]
	case 36 + 2:
		s = s[1:37]
	case 32:
		return allHex(s)
	default:
		return false
	}
	for i := 0; i < 36; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !allHex(s[i : i+1]) {
				return false
			}
		}
	}
	return true
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
