"""Adapters at the edge: stores and provider clients."""
