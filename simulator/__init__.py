"""Local OKX V5 wire-compatible exchange for demos and tests (independent of exchange/ and the resampler)."""
