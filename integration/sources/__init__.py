"""Second market-data sources, asked only while WordPress is down or stale (`fallback.py` decides).

Every source speaks `base.PriceSource`: latest quotes for the polled symbols, history for a window. WordPress is
the primary (its client and poller stay in `integration/client.py` / `services.py`); the fallbacks are
`alpaca.AlpacaSource` (the official SDK, IEX feed) and `yahoo.YahooSource` (the unofficial chart endpoint).
"""
