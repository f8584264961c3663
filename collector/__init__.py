"""Collector process: fetches base-interval candles for every configured instrument, resamples,
writes CSVs and data_ready markers."""
