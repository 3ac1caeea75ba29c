"""Sampling contexts: the methods that draw a context's gaps, and their sharding over devices."""
