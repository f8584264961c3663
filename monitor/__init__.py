"""The fleet monitor: a read-only web view of the collector's CSVs and markers and every account's
journal — fleet health, accounts, and live K-line charts (``python -m monitor``)."""
