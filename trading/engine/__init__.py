"""The strategy engine: strategies as data (services, selectors) and their execution on `bar_closed`.
The contract for the API, admin and site sync is trading/strategies/ENGINE.md."""
