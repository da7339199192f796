"""clever-proxy: a pre-validating reverse proxy for Clever's LMS Connect API."""

__version__ = "0.1.0"
