"""Emulations of Go library behaviour (encoding/json, time, strconv, net/url).

Rule: this package imports nothing from the rest of `proxy`.
"""
