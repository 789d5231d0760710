"""Load and fault harness: drives the app from outside; never imported by it."""
