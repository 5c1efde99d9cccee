"""The asyncio shell: queue, dispatch, timers, supervision, metrics, HTTP."""
