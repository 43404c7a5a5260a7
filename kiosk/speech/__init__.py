"""Offline speech recognition: engines behind one streaming interface, and the spoken pipeline."""
