"""okxfleet configuration — the one file you edit.

If you used the original framework: ``ACCOUNTS`` is ``symbol_config_dict``. Each account is one OKX
(sub-)account with one bar interval (``time_interval``); each ``Strategy`` is one entry of its
``symbol_config``: the instrument (``instrument_id``), the strategy (``strategy_name``), its
parameters (``para``, now named) and the leverage. Face values (``coin_value_table``) are read from
OKX, never typed in by hand.

Secrets never go here. ``credentials="OKX_SUB1"`` means: read ``OKX_SUB1_API_KEY``,
``OKX_SUB1_SECRET`` and ``OKX_SUB1_PASSPHRASE`` from the environment or from a git-ignored ``.env``.

Check your edits with ``python -m config --check``.
"""

from config import Account, Collector, DingTalk, Exchange, Notify, Strategy, Trader

# Where orders go: "simulator" (the local OKX on 127.0.0.1, no keys needed), "demo" (OKX demo
# trading, keys created in demo) or "live". base_url defaults to https://www.okx.com for live/demo.
EXCHANGE = Exchange(mode="simulator", base_url="http://127.0.0.1:8081")

# 6h/12h/1d bars open on this zone's boundaries. "Asia/Shanghai" = OKX's 6H/12H/1D bars and the
# original framework's candle_begin_time_GMT8; "UTC" = OKX's 6Hutc/12Hutc/1Dutc.
CANDLE_TIMEZONE = "Asia/Shanghai"

DATA_DIR = "data"  # candles/, markers/, journal/, logs/ live under it
MAX_LEVERAGE = 10  # no strategy may ask for more

COLLECTOR = Collector(history_bars=300)  # bars of the largest interval to keep/backfill (at least)

TRADER = Trader(
    order_type="limit",  # "limit" (signal price +/- slippage), "market" or "optimal_limit_ioc"
    slippage="0.002",
    reprice_attempts=3,
    marker_deadline_s=90,
)

# DingTalk: the webhook URL (with its access_token) and the signing secret come from the
# environment. Without DINGTALK_WEBHOOK set, notifications go to the log only.
NOTIFY = Notify(
    dingtalk=DingTalk(webhook_env="DINGTALK_WEBHOOK", secret_env="DINGTALK_SECRET", keyword="okxfleet"),  # noqa: S106
    report_every_minutes=30,
)

ACCOUNTS = {
    "sub1": Account(
        credentials="OKX_SUB1",
        interval="1m",
        strategies=[
            Strategy("BTC-USDT-SWAP", "sma_cross", params={"fast": 5, "slow": 20}, leverage=2),
            Strategy("ETH-USDT-SWAP", "bollinger", params={"n": 20, "m": 2}, leverage=3),
            Strategy("SOL-USDT-SWAP", "bollinger_bias", params={"n": 20, "m": 2, "p": 0.05}, leverage=2),
        ],
    ),
    "sub2": Account(
        credentials="OKX_SUB2",
        interval="5m",
        strategies=[
            Strategy("ETH-USDT-SWAP", "sma_cross", params={"fast": 3, "slow": 12}, leverage=2),
            Strategy("DOGE-USDT-SWAP", "bollinger", params={"n": 20, "m": 2}, leverage=2),
        ],
        # A robot per sub-account is common:
        # dingtalk=DingTalk(webhook_env="DINGTALK_SUB2_WEBHOOK", secret_env="DINGTALK_SUB2_SECRET"),
        trader=Trader(order_type="market"),
    ),
}
