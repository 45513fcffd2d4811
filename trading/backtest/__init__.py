"""Backtesting: the live strategy code and the paper broker's fill function replayed over history.

- `simulate.py`: pure — decisions on each bar's close, fills at the next bar's open, an in-memory book;
- `data.py`: bars from the price store or the seeded synthetic generator;
- `report.py`: the JSON document, the 3-panel PNG and the HTML page;
- `services.py`: `BacktestRun` rows (queued → running → done | failed), sweeps; called by the command, the API,
  the Celery tasks and the admin.
"""
