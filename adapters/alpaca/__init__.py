"""The Alpaca venue: REST on aiohttp, one shared rate limiter, the market-data and
trade-updates websockets, and the order gateway (see ``venue.build_venue``)."""

from adapters.alpaca.account import AlpacaAccount
from adapters.alpaca.credentials import Credentials, CredentialsError, Secret, load_credentials
from adapters.alpaca.data_stream import AlpacaMarketData
from adapters.alpaca.gateway import AlpacaGateway
from adapters.alpaca.limits import RateLimiter
from adapters.alpaca.rest import AlpacaRest
from adapters.alpaca.trade_stream import AlpacaTradeUpdates
from adapters.alpaca.venue import AlpacaVenue, Endpoints, build_venue, endpoints

__all__ = [
    "AlpacaAccount",
    "AlpacaGateway",
    "AlpacaMarketData",
    "AlpacaRest",
    "AlpacaTradeUpdates",
    "AlpacaVenue",
    "Credentials",
    "CredentialsError",
    "Endpoints",
    "RateLimiter",
    "Secret",
    "build_venue",
    "endpoints",
    "load_credentials",
]
