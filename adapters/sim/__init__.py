"""adapters.sim"""
