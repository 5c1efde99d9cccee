"""adapters.alpaca"""
