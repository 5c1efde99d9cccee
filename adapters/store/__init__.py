"""adapters.store"""
