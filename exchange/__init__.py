"""The one OKX layer: typed records, checked replies, error mapping, retries, rate limits,
ccxt (public) and python-okx (private) clients."""
