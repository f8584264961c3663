"""Foundations shared by every process: clock, intervals and bar alignment, candle math,
CSV store and markers, errors, redaction and logging. Imports no other okxfleet package."""
