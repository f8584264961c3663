"""Trader process (one per account): waits for markers, runs strategies, sizes and places V5 orders, journals and reports."""  # noqa: E501
