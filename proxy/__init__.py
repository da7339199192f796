"""clever-proxy: a pre-validating reverse proxy for Clever's LMS Connect API."""

__version__ = "0.1.0"
# The sandbox's built-in bearer token. Here rather than in proxy.sandbox so that the CLI can name it
# in --help without importing the sandbox (and aiohttp's server with it) at every start.
SANDBOX_TOKEN = "sandbox-district-token"
